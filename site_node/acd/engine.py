"""The ACD (A1): skills-based routing with priorities, timed overflow and queue limits.

Pure and fast: every method takes ``now`` and returns a list of decisions; nothing reads the
clock or does I/O. Data structures:

* per queue and overflow *stage*, a heap of waiting calls keyed
  ``(-priority, original_arrival_at, seq)``: highest priority first, then first come first
  served on the *original* arrival (kept across transfers and site failover);
* per skill and level (1-10), a heap of ready agents keyed ``(idle_since, seq)``: the best
  level wins, then the longest idle agent;
* one timer heap for overflow steps and maximum waits, consumed by :meth:`Acd.tick`.

Entries are removed lazily (a flag on the entry; stale heap items are dropped when they reach
the top), so each decision costs O(levels + log n), never a scan of the waiting calls.

Invariant kept after every call: no ready agent is eligible for any waiting call (the agent
would have taken it). That is why a new arrival may take a ready agent at once without jumping
ahead of anyone.

Expected wait (EWT) for the call at position ``p`` of a queue::

    EWT = p x AHT / staffed

where AHT is the rolling mean handle time of the last ``aht_window`` calls of the queue (the
queue's ``default_aht_s`` until the first one) and ``staffed`` the number of logged-in agents
holding the queue's skill at its required level (``None`` when nobody is staffed). It is a
deliberately simple queueing estimate; central compares sites with it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from ._structures import _Agent, _Entry, _Queue
from .errors import AcdConfigInvalid, DuplicateCall, UnknownAgent, UnknownQueue
from .model import (
    MAX_LEVEL,
    Decision,
    LimitAction,
    LimitReached,
    OfferCall,
    Overflowed,
    QueueConfig,
    Queued,
    Relaxed,
    check_level,
    validate_queues,
)

_heappush = heapq.heappush
_heappop = heapq.heappop


class Acd:
    """Skills-based routing for one site. See the module docstring for the method."""

    def __init__(self, queues: Iterable[QueueConfig], *, aht_window: int = 100) -> None:
        configs = {q.name: q for q in queues}
        validate_queues(configs)
        self._queues = {name: _Queue(cfg, aht_window) for name, cfg in configs.items()}
        self._by_skill: dict[str, list[_Queue]] = {}
        for q in self._queues.values():
            self._by_skill.setdefault(q.cfg.skill, []).append(q)
        self._agents: dict[str, _Agent] = {}
        self._index: dict[str, list[list[Any]]] = {}  # skill -> heaps by level (0..10)
        self._staff: dict[str, list[int]] = {}  # skill -> logged-in agents by level
        self._entries: dict[str, _Entry] = {}
        self._timers: list[Any] = []
        self._seq = 0

    # ---- agents --------------------------------------------------------------------------
    def add_agent(self, agent_id: str, skills: dict[str, int], *, capacity: int = 1) -> None:
        """Log an agent in (not ready until :meth:`on_agent_ready`)."""
        for skill, level in skills.items():
            check_level(level, f"agent {agent_id} skill {skill}")
        if capacity < 1:
            raise AcdConfigInvalid(f"agent {agent_id}: capacity must be >= 1")
        if agent_id in self._agents:
            self.remove_agent(agent_id)
        self._agents[agent_id] = _Agent(agent_id, dict(skills), capacity)
        for skill, level in skills.items():
            self._staff.setdefault(skill, [0] * (MAX_LEVEL + 1))[level] += 1

    def remove_agent(self, agent_id: str) -> None:
        """Log an agent out."""
        agent = self._agent(agent_id)
        agent.ready = False
        agent.token += 1
        for skill, level in agent.skills.items():
            self._staff[skill][level] -= 1
        del self._agents[agent_id]

    def set_skills(self, agent_id: str, skills: dict[str, int], now: float) -> list[Decision]:
        """An administrator changed a logged-in agent's skills: the next offer uses the new ones
        (a ready agent is re-indexed at once, keeping its idle time, and may take a waiting call)."""
        for skill, level in skills.items():
            check_level(level, f"agent {agent_id} skill {skill}")
        agent = self._agent(agent_id)
        for skill, level in agent.skills.items():
            self._staff[skill][level] -= 1
        agent.skills = dict(skills)
        for skill, level in skills.items():
            self._staff.setdefault(skill, [0] * (MAX_LEVEL + 1))[level] += 1
        return self.on_agent_ready(agent_id, now, agent.idle_since) if agent.ready else []

    def reconfigure_queue(self, cfg: QueueConfig) -> None:
        """An administrator changed a queue's settings: validated with the others, used at the next offer."""
        q = self._queue(cfg.name)
        validate_queues({**{name: other.cfg for name, other in self._queues.items()}, cfg.name: cfg})
        if len(cfg.stage_levels()) != len(q.levels):
            raise AcdConfigInvalid(f"queue {cfg.name}: the overflow rules cannot change here", where=cfg.name)
        q.cfg, q.levels, q.adds = cfg, cfg.stage_levels(), cfg.stage_queues()
        self._by_skill = {}
        for other in self._queues.values():
            self._by_skill.setdefault(other.cfg.skill, []).append(other)

    def _agent(self, agent_id: str) -> _Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(f"agent {agent_id} is not logged in at this ACD",
                               agent_id=agent_id) from None

    def on_agent_ready(self, agent_id: str, now: float,
                       idle_since: float | None = None) -> list[Decision]:
        """The agent accepts work: give it the best waiting call(s) or index it as ready."""
        agent = self._agent(agent_id)
        agent.ready = agent.active < agent.capacity
        agent.token += 1
        agent.idle_since = now if idle_since is None else idle_since
        out: list[Decision] = []
        while agent.ready and agent.active < agent.capacity:
            found = self._best_entry_for(agent)
            if found is None:
                break
            entry, queue, level = found
            out.append(self._assign(entry, agent, queue, level, now))
        if agent.ready:
            self._seq += 1
            item = (agent.idle_since, self._seq, agent, agent.token)
            index = self._index
            for skill, level in agent.skills.items():
                heaps = index.get(skill)
                if heaps is None:
                    heaps = index[skill] = [[] for _ in range(MAX_LEVEL + 1)]
                _heappush(heaps[level], item)
        return out

    def on_agent_unavailable(self, agent_id: str) -> None:
        """Not ready, wrap-up, or busy outside the ACD: stop offering to this agent."""
        agent = self._agent(agent_id)
        agent.ready = False
        agent.token += 1

    def release(self, agent_id: str) -> None:
        """One interaction of the agent ended (or its offer failed): frees a slot."""
        agent = self._agents.get(agent_id)
        if agent is not None and agent.active > 0:
            agent.active -= 1

    def _find_agent(self, skill: str, min_level: int) -> tuple[_Agent, int] | None:
        heaps = self._index.get(skill)
        if heaps is None:
            return None
        for level in range(MAX_LEVEL, min_level - 1, -1):
            heap = heaps[level]
            while heap:
                top = heap[0]
                agent = top[2]
                if agent.token == top[3] and agent.ready:
                    return agent, level
                _heappop(heap)
        return None

    # ---- calls ---------------------------------------------------------------------------
    def on_call_arrival(self, call_id: str, queue: str, now: float, *, priority: int = 0,
                        original_arrival_at: float | None = None,
                        enqueued_at: float | None = None,
                        bypass_limits: bool = False) -> list[Decision]:
        """A call asks for ``queue``: offer it to the best ready agent or queue it.

        Requeue after a failed offer by passing the call's ``original_arrival_at`` and
        ``enqueued_at`` (it keeps its place) and ``bypass_limits=True``.
        """
        q = self._queue(queue)
        if call_id in self._entries:
            raise DuplicateCall(f"call {call_id} is already waiting", call_id=call_id)
        arrival = now if original_arrival_at is None else original_arrival_at
        entered = now if enqueued_at is None else enqueued_at
        self._seq += 1
        entry = _Entry(call_id, queue, priority, arrival, entered, self._seq)
        out: list[Decision] = []
        if q.timed:
            out.extend(self._catch_up_stages(entry, q, now))
        match = self._agent_for(entry, q)
        if match is not None:
            agent, name, level = match
            self._add(entry, q, now)
            out.append(self._assign(entry, agent, name, level, now))
            return out
        cfg = q.cfg
        if not bypass_limits and cfg.max_length is not None and q.waiting >= cfg.max_length:
            if cfg.max_length_action is LimitAction.OVERFLOW and cfg.max_length_target:
                target = self._queues[cfg.max_length_target]
                out.append(Overflowed(call_id, queue, target.cfg.name, target.cfg.skill,
                                      "max_length"))
                entry.queue, entry.stage, entry.extra, entry.enqueued_at = (
                    target.cfg.name, 0, (), now)
                return out + self._place(entry, target, now)
            out.append(LimitReached(call_id, queue, cfg.max_length_action, "max_length"))
            return out
        self._add(entry, q, now)
        out.append(self._queued(entry, q))
        return out

    def remove_call(self, call_id: str) -> bool:
        """The caller abandoned or the call left otherwise; ``False`` if it was not waiting."""
        entry = self._entries.get(call_id)
        if entry is None:
            return False
        self._drop(entry)
        return True

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueue(f"queue {name} is not configured", queue=name) from None

    def _place(self, entry: _Entry, q: _Queue, now: float) -> list[Decision]:
        out: list[Decision] = []
        if q.timed:
            out.extend(self._catch_up_stages(entry, q, now))
        match = self._agent_for(entry, q)
        self._add(entry, q, now)
        if match is not None:
            out.append(self._assign(entry, match[0], match[1], match[2], now))
        else:
            out.append(self._queued(entry, q))
        return out

    def _catch_up_stages(self, entry: _Entry, q: _Queue, now: float) -> list[Decision]:
        out: list[Decision] = []
        rules = q.cfg.overflow
        while entry.stage < len(rules) and entry.enqueued_at + rules[entry.stage].after_s <= now:
            entry.stage += 1
            entry.extra = q.adds[entry.stage]
            out.append(Relaxed(entry.call_id, q.cfg.name, q.levels[entry.stage], entry.extra))
        return out

    def _add(self, entry: _Entry, q: _Queue, now: float, *, first: bool = True) -> None:
        """Make ``entry`` a live waiting call of ``q`` (heaps, counters, timers).

        ``first``: the call just entered ``q`` (its maximum-wait timer starts).
        """
        entry.live = True
        self._entries[entry.call_id] = entry
        q.waiting += 1
        q.prio_counts[entry.priority] = q.prio_counts.get(entry.priority, 0) + 1
        latest = q.last_arrival.get(entry.priority)
        entry.last = latest is None or entry.arrival > latest
        if entry.last:
            q.last_arrival[entry.priority] = entry.arrival
        item = (-entry.priority, entry.arrival, entry.seq, entry)
        heap = q.heaps[entry.stage]
        _heappush(heap, item)
        if len(heap) > 2 * q.waiting + 64:
            self._compact(q)
        for name in entry.extra:
            _heappush(self._queues[name].imports, item)
        if q.timed:
            self._schedule(entry, q, first)

    def _schedule(self, entry: _Entry, q: _Queue, first: bool) -> None:
        cfg = q.cfg
        if entry.stage < len(cfg.overflow):
            self._seq += 1
            due = entry.enqueued_at + cfg.overflow[entry.stage].after_s
            _heappush(self._timers, (due, self._seq, entry, entry.epoch, entry.stage + 1))
        if cfg.max_wait_s is not None and first:
            self._seq += 1
            due = entry.enqueued_at + cfg.max_wait_s
            _heappush(self._timers, (due, self._seq, entry, entry.epoch, -1))

    def _compact(self, q: _Queue) -> None:
        name = q.cfg.name
        for stage, heap in enumerate(q.heaps):
            live = [it for it in heap if it[3].live and it[3].queue == name
                    and it[3].stage == stage and it[3].seq == it[2]]
            heapq.heapify(live)
            q.heaps[stage] = live

    def _drop(self, entry: _Entry) -> None:
        entry.live = False
        del self._entries[entry.call_id]
        q = self._queues[entry.queue]
        q.waiting -= 1
        q.prio_counts[entry.priority] -= 1

    def _queued(self, entry: _Entry, q: _Queue) -> Queued:
        """The call's exact place: counted in O(priorities) for a call at the tail of its
        priority; one that kept an earlier arrival (failover, re-queue) is placed exactly."""
        if entry.last:
            prio = entry.priority
            position = sum(n for p, n in q.prio_counts.items() if p >= prio)
        else:
            position = self.position(entry.call_id) or 1
        return Queued(entry.call_id, q.cfg.name, position, self._ewt(q, position))

    def _assign(self, entry: _Entry, agent: _Agent, queue: str, level: int,
                now: float) -> OfferCall:
        self._drop(entry)
        agent.active += 1
        if agent.active >= agent.capacity:
            agent.ready = False
            agent.token += 1
        skill = self._queues[queue].cfg.skill
        return OfferCall(entry.call_id, agent.agent_id, entry.queue, skill, level,
                         now - entry.enqueued_at)

    def _agent_for(self, entry: _Entry, q: _Queue) -> tuple[_Agent, str, int] | None:
        found = self._find_agent(q.cfg.skill, q.levels[entry.stage])
        if found is not None:
            return found[0], q.cfg.name, found[1]
        for name in entry.extra:
            other = self._queues[name]
            found = self._find_agent(other.cfg.skill, other.cfg.min_level)
            if found is not None:
                return found[0], name, found[1]
        return None

    def _best_entry_for(self, agent: _Agent) -> tuple[_Entry, str, int] | None:
        best: Any = None
        best_queue = ""
        best_level = 0
        for skill, level in agent.skills.items():
            for q in self._by_skill.get(skill, ()):
                name = q.cfg.name
                for stage, need in enumerate(q.levels):
                    if level < need:
                        continue
                    heap = q.heaps[stage]
                    while heap:
                        top = heap[0]
                        e = top[3]
                        if e.live and e.stage == stage and e.seq == top[2] and e.queue == name:
                            if best is None or top < best:
                                best, best_queue, best_level = top, name, level
                            break
                        _heappop(heap)
                if level >= q.cfg.min_level:
                    heap = q.imports
                    while heap:
                        top = heap[0]
                        e = top[3]
                        if e.live and e.seq == top[2] and name in e.extra:
                            if best is None or top < best:
                                best, best_queue, best_level = top, name, level
                            break
                        _heappop(heap)
        if best is None:
            return None
        return best[3], best_queue, best_level

    # ---- timers --------------------------------------------------------------------------
    def next_timer_at(self) -> float | None:
        """When :meth:`tick` next has work (may be a stale timer; ticking early is harmless)."""
        return self._timers[0][0] if self._timers else None

    def tick(self, now: float) -> list[Decision]:
        """Apply every overflow step and maximum wait that is due at ``now``."""
        out: list[Decision] = []
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, entry, epoch, stage = _heappop(timers)
            if not entry.live or entry.epoch != epoch:
                continue
            q = self._queues[entry.queue]
            if stage > 0:
                if entry.stage != stage - 1:
                    continue
                out.extend(self._advance(entry, q, now))
            else:
                out.extend(self._limit(entry, q, now))
        return out

    def _advance(self, entry: _Entry, q: _Queue, now: float) -> list[Decision]:
        self._drop(entry)
        entry.stage += 1
        entry.extra = q.adds[entry.stage]
        out: list[Decision] = [Relaxed(entry.call_id, q.cfg.name, q.levels[entry.stage],
                                       entry.extra)]
        match = self._agent_for(entry, q)
        self._add(entry, q, now, first=False)
        if match is not None:
            out.append(self._assign(entry, match[0], match[1], match[2], now))
        return out

    def _limit(self, entry: _Entry, q: _Queue, now: float) -> list[Decision]:
        cfg = q.cfg
        self._drop(entry)
        if cfg.max_wait_action is LimitAction.OVERFLOW and cfg.max_wait_target:
            target = self._queues[cfg.max_wait_target]
            entry.queue, entry.stage, entry.extra = target.cfg.name, 0, ()
            entry.enqueued_at = now
            entry.epoch += 1
            self._seq += 1
            entry.seq = self._seq
            out: list[Decision] = [Overflowed(entry.call_id, cfg.name, target.cfg.name,
                                              target.cfg.skill, "max_wait")]
            return out + self._place(entry, target, now)
        return [LimitReached(entry.call_id, cfg.name, cfg.max_wait_action, "max_wait")]

    # ---- statistics and estimates --------------------------------------------------------
    def record_answer(self, queue: str, waited_s: float) -> None:
        """An offered call was answered after ``waited_s`` in queue (service level)."""
        q = self._queue(queue)
        q.answered += 1
        if waited_s <= q.cfg.sl_threshold_s:
            q.in_sl += 1

    def record_handle_time(self, queue: str, handle_s: float) -> None:
        """Talk + hold + wrap-up of a finished call, for the rolling AHT."""
        q = self._queue(queue)
        if q.aht.maxlen is not None and len(q.aht) == q.aht.maxlen:
            q.aht_sum -= q.aht[0]
        q.aht.append(handle_s)
        q.aht_sum += handle_s

    def staffed(self, queue: str) -> int:
        q = self._queue(queue)
        counts = self._staff.get(q.cfg.skill)
        return 0 if counts is None else sum(counts[q.cfg.min_level:])

    def _ewt(self, q: _Queue, position: int) -> float | None:
        counts = self._staff.get(q.cfg.skill)
        staffed = 0 if counts is None else sum(counts[q.cfg.min_level:])
        if staffed == 0:
            return None
        return position * q.aht_s() / staffed

    def position(self, call_id: str) -> int | None:
        """1-based place of a waiting call in its queue (exact; O(calls in that queue))."""
        entry = self._entries.get(call_id)
        if entry is None:
            return None
        q = self._queues[entry.queue]
        key = (-entry.priority, entry.arrival, entry.seq)
        ahead = set()
        for heap in q.heaps:
            for item in heap:
                e = item[3]
                if e.live and e.queue == entry.queue and e.seq == item[2] and item[:3] < key:
                    ahead.add(e.call_id)
        return len(ahead) + 1

    def expected_wait(self, queue: str, *, call_id: str | None = None,
                      priority: int = 0) -> float | None:
        """EWT of a waiting call, or of a new call of ``priority`` arriving now."""
        q = self._queue(queue)
        if call_id is not None:
            pos = self.position(call_id)
            if pos is None:
                return None
        else:
            pos = 1 + sum(n for p, n in q.prio_counts.items() if p >= priority)
        return self._ewt(q, pos)

    def waiting(self, queue: str | None = None) -> int:
        if queue is None:
            return len(self._entries)
        return self._queue(queue).waiting

    def is_waiting(self, call_id: str) -> bool:
        return call_id in self._entries

    def snapshot(self, now: float) -> dict[str, Any]:
        """Load summary: per queue waiting, longest wait, EWT, service level; agents."""
        oldest: dict[str, float] = {}
        for e in self._entries.values():
            if e.arrival < oldest.get(e.queue, now):
                oldest[e.queue] = e.arrival
        ready_by_skill: dict[str, list[int]] = {}
        agents = {"logged_in": len(self._agents), "ready": 0, "busy": 0, "not_ready": 0}
        for a in self._agents.values():
            if a.ready:
                agents["ready"] += 1
                for skill, level in a.skills.items():
                    ready_by_skill.setdefault(skill, [0] * (MAX_LEVEL + 1))[level] += 1
            elif a.active:
                agents["busy"] += 1
            else:
                agents["not_ready"] += 1
        queues: dict[str, Any] = {}
        for name, q in self._queues.items():
            ready = ready_by_skill.get(q.cfg.skill)
            queues[name] = {
                "skill": q.cfg.skill,
                "waiting": q.waiting,
                "longest_wait_s": now - oldest[name] if name in oldest else 0.0,
                "expected_wait_s": self._ewt(q, q.waiting + 1),
                "staffed": self.staffed(name),
                "ready": 0 if ready is None else sum(ready[q.cfg.min_level:]),
                "aht_s": q.aht_s(),
                "answered": q.answered,
                "service_level": q.in_sl / q.answered if q.answered else None,
                "sl_threshold_s": q.cfg.sl_threshold_s,
            }
        return {"at": now, "waiting": len(self._entries), "queues": queues, "agents": agents}
