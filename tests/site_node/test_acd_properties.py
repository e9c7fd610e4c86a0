"""Property tests of ACD invariants against a small reference model.

Invariants checked after every operation of random scenarios:
* an agent never holds more interactions than its capacity;
* a call is offered only to a ready agent holding the skill at the required (possibly
  relaxed) level, or an agent of a queue added by timed overflow;
* a ready agent takes the best eligible call: priority first, then original arrival;
* a new call goes to the best eligible agent: highest level, then longest idle;
* no ready agent is left eligible for a waiting call;
* after ``tick(now)`` no call has missed an overflow step or its maximum wait.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_node.acd import (
    Acd,
    LimitAction,
    LimitReached,
    OfferCall,
    Overflowed,
    OverflowRule,
    QueueConfig,
    Queued,
    Relaxed,
)

T0 = 1_700_000_000.0
QUEUES = [
    QueueConfig("q0", "s0", min_level=5,
                overflow=(OverflowRule(30, min_level=2), OverflowRule(60, add_queue="q1")),
                max_wait_s=120, max_wait_action=LimitAction.OVERFLOW, max_wait_target="q2"),
    QueueConfig("q1", "s1", max_wait_s=100, max_wait_action=LimitAction.CALLBACK),
    QueueConfig("q2", "s0", max_length=3, max_length_action=LimitAction.VOICEMAIL,
                overflow=(OverflowRule(40, add_queue="q1"),)),
    QueueConfig("q3", "s2", min_level=3),
]
CFG = {q.name: q for q in QUEUES}


@dataclass
class MCall:
    queue: str
    priority: int
    arrival: float
    enqueued_at: float
    seq: int
    stage: int = 0


@dataclass
class MAgent:
    skills: dict[str, int]
    capacity: int
    active: list[str] = field(default_factory=list)
    ready: bool = False
    idle_since: float = 0.0


class Model:
    def __init__(self, agents: list[tuple[dict[str, int], int]]) -> None:
        self.acd = Acd(QUEUES)
        self.agents: dict[str, MAgent] = {}
        for i, (skills, cap) in enumerate(agents):
            self.agents[f"a{i}"] = MAgent(skills, cap)
            self.acd.add_agent(f"a{i}", skills, capacity=cap)
        self.waiting: dict[str, MCall] = {}
        self.now = T0
        self.seq = 0

    # -- model rules -----------------------------------------------------------------------
    def eligible(self, call: MCall, agent: MAgent) -> bool:
        q = CFG[call.queue]
        if agent.skills.get(q.skill, 0) >= q.stage_levels()[call.stage]:
            return True
        return any(agent.skills.get(CFG[name].skill, 0) >= CFG[name].min_level
                   for name in q.stage_queues()[call.stage])

    def free(self, agent: MAgent) -> bool:
        return agent.ready and len(agent.active) < agent.capacity

    # -- applying decisions ----------------------------------------------------------------
    def apply(self, decisions: list) -> list[OfferCall]:
        offered = []
        for d in decisions:
            if isinstance(d, Queued):
                assert d.call_id in self.waiting and self.waiting[d.call_id].queue == d.queue
            elif isinstance(d, Relaxed):
                call = self.waiting[d.call_id]
                rules = CFG[call.queue].overflow
                assert call.enqueued_at + rules[call.stage].after_s <= self.now
                call.stage += 1
                assert d.min_level == CFG[call.queue].stage_levels()[call.stage]
            elif isinstance(d, Overflowed):
                call = self.waiting[d.call_id]
                assert call.queue == d.from_queue
                if d.reason == "max_wait":
                    assert self.now - call.enqueued_at >= CFG[call.queue].max_wait_s  # type: ignore[operator]
                call.queue, call.enqueued_at, call.stage = d.to_queue, self.now, 0
            elif isinstance(d, LimitReached):
                del self.waiting[d.call_id]
            elif isinstance(d, OfferCall):
                call = self.waiting.pop(d.call_id)
                agent = self.agents[d.agent_id]
                assert self.free(agent), "offered to an agent that is not free"
                assert agent.skills.get(d.skill) == d.level
                assert self.eligible(call, agent), "agent lacks the skill or level"
                agent.active.append(d.call_id)
                assert len(agent.active) <= agent.capacity
                if len(agent.active) == agent.capacity:
                    agent.ready = False
                offered.append(d)
        return offered

    def check(self) -> None:
        assert self.acd.waiting() == len(self.waiting)
        for call_id, call in self.waiting.items():
            assert self.acd.is_waiting(call_id)
            q = CFG[call.queue]
            due = sum(1 for r in q.overflow if call.enqueued_at + r.after_s <= self.now)
            assert call.stage == due, "an overflow step was missed"
            if q.max_wait_s is not None:
                assert self.now - call.enqueued_at < q.max_wait_s, "waited past max wait"
            for agent in self.agents.values():
                assert not (self.free(agent) and self.eligible(call, agent)), \
                    "a ready agent is left eligible for a waiting call"
        for agent in self.agents.values():
            assert len(agent.active) <= agent.capacity

    # -- operations ------------------------------------------------------------------------
    def tick(self) -> None:
        self.apply(self.acd.tick(self.now))

    def arrive(self, queue: str, priority: int, back: float) -> None:
        self.tick()
        self.seq += 1
        call_id = f"c{self.seq}"
        call = MCall(queue, priority, self.now - back, self.now, self.seq)
        q = CFG[queue]
        candidates = [(a.skills.get(q.skill, 0), -a.idle_since, name)
                      for name, a in self.agents.items()
                      if self.free(a) and a.skills.get(q.skill, 0) >= q.min_level]
        self.waiting[call_id] = call
        decisions = self.acd.on_call_arrival(call_id, queue, self.now, priority=priority,
                                             original_arrival_at=call.arrival)
        for d in decisions:  # the place a caller is told is the ACD's exact place (a failover
            if isinstance(d, Queued):  # keeps an earlier arrival: it is not always the tail)
                assert d.position == self.acd.position(d.call_id), "announced a wrong position"
        offered = self.apply(decisions)
        if candidates:
            best = max(candidates)
            assert offered and offered[0].agent_id in {
                n for lvl, idle, n in candidates if (lvl, idle) == best[:2]}

    def ready(self, name: str) -> None:
        self.tick()
        agent = self.agents[name]
        agent.ready = True
        agent.idle_since = self.now
        if len(agent.active) >= agent.capacity:
            agent.ready = False
        eligible = sorted((-c.priority, c.arrival, c.seq, cid) for cid, c in self.waiting.items()
                          if self.eligible(c, agent))
        offered = self.apply(self.acd.on_agent_ready(name, self.now))
        if agent.capacity > len(agent.active) - len(offered) and eligible:
            assert offered, "a ready agent was not given an eligible waiting call"
            assert offered[0].call_id == eligible[0][3], "not the best call for this agent"

    def unavailable(self, name: str) -> None:
        self.agents[name].ready = False
        self.acd.on_agent_unavailable(name)

    def end(self, name: str) -> None:
        agent = self.agents[name]
        if agent.active:
            agent.active.pop(0)
            self.acd.release(name)

    def abandon(self, index: int) -> None:
        if self.waiting:
            call_id = sorted(self.waiting)[index % len(self.waiting)]
            del self.waiting[call_id]
            assert self.acd.remove_call(call_id)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.tick()


skills_st = st.dictionaries(st.sampled_from(["s0", "s1", "s2"]), st.integers(1, 10),
                            min_size=1, max_size=3)
agents_st = st.lists(st.tuples(skills_st, st.sampled_from([1, 1, 1, 2])), min_size=1,
                     max_size=6)
op_st = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from(list(CFG)), st.integers(0, 2),
              st.floats(0, 50, allow_nan=False)),
    st.tuples(st.just("ready"), st.integers(0, 5)),
    st.tuples(st.just("unavailable"), st.integers(0, 5)),
    st.tuples(st.just("end"), st.integers(0, 5)),
    st.tuples(st.just("abandon"), st.integers(0, 50)),
    st.tuples(st.just("advance"), st.floats(0, 80, allow_nan=False)),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(agents=agents_st, ops=st.lists(op_st, max_size=60))
def test_acd_invariants_hold_for_random_scenarios(agents: list, ops: list) -> None:
    model = Model(agents)
    names = list(model.agents)
    for op in ops:
        kind = op[0]
        if kind == "arrive":
            model.arrive(op[1], op[2], op[3])
        elif kind == "advance":
            model.advance(op[1])
        elif kind == "abandon":
            model.abandon(op[1])
        else:
            getattr(model, kind)(names[op[1] % len(names)])
        model.check()
