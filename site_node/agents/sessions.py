"""Agent state sessions for the reports: how long each agent spent in each state and not-ready
reason at this site (issue 23: not-ready time by reason, occupancy from logged-in time).

:class:`SessionTracker` is pure: it takes the desk's transitions (times in them) and returns the
sessions they close. :class:`SessionWriter` sits at the edge: the desk hands it transitions
synchronously (no I/O, never blocks the call path); closed sessions wait in a bounded buffer
that one owned task appends to storage in batches. On stop every open session is closed with the
stop time and the buffer is flushed. A storage failure keeps the batch for the next flush (the
buffer is bounded: beyond ``max_pending`` the oldest sessions are dropped and counted).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cluster.clock import Clock
from cluster.errors import CallCenterError
from cluster.tasks import TaskOwner, cancel_and_wait
from site_node.agent import AgentState, AgentTransition
from site_node.storage.records import AgentSessionRecord

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Open:
    state: str
    reason: str | None
    started_at: float


class SessionTracker:
    """The open session of each agent; a change of state or of not-ready reason closes it."""

    def __init__(self, site: str) -> None:
        self.site = site
        self._open: dict[str, _Open] = {}

    def on_transition(self, t: AgentTransition) -> list[AgentSessionRecord]:
        reason = t.reason if t.new is AgentState.NOT_READY else None
        current = self._open.get(t.agent_id)
        if current is not None and (current.state, current.reason) == (t.new.value, reason):
            return []
        closed = [] if current is None else [self._close(t.agent_id, current, t.at)]
        if t.new is AgentState.LOGGED_OUT:
            self._open.pop(t.agent_id, None)
        else:
            self._open[t.agent_id] = _Open(t.new.value, reason, t.at)
        return closed

    def close_all(self, now: float) -> list[AgentSessionRecord]:
        """Close every open session at ``now`` (the site stops)."""
        closed = [self._close(agent_id, s, now) for agent_id, s in self._open.items()]
        self._open.clear()
        return closed

    def _close(self, agent_id: str, s: _Open, end: float) -> AgentSessionRecord:
        return AgentSessionRecord(self.site, agent_id, s.state, s.started_at, max(end, s.started_at), s.reason)


class SessionStore(Protocol):
    async def append(self, records: Sequence[AgentSessionRecord]) -> None: ...


class SessionWriter:
    """Owns the tracker, the buffer and the flushing task."""

    def __init__(
        self, *, site: str, store: SessionStore, owner: TaskOwner, clock: Clock,
        flush_every_s: float = 1.0, max_pending: int = 50_000,
    ) -> None:  # fmt: skip
        self._tracker = SessionTracker(site)
        self._store = store
        self._owner = owner
        self._clock = clock
        self._flush_every_s = flush_every_s
        self._pending: deque[AgentSessionRecord] = deque()
        self._max_pending = max_pending
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = self._owner.spawn(self._run(), "agent-sessions")

    def record(self, t: AgentTransition) -> None:
        """The desk applied ``t``: buffer the sessions it closed (no I/O here)."""
        self._add(self._tracker.on_transition(t))

    def _add(self, records: list[AgentSessionRecord]) -> None:
        self._pending.extend(records)
        while len(self._pending) > self._max_pending:
            self._pending.popleft()
            self.dropped += 1
        if self._pending:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> bool:
        """Append what is buffered; False (the batch kept) if storage refused it."""
        batch, self._pending = self._pending, deque()
        if not batch:
            return True
        try:
            await self._store.append(list(batch))
        except Exception as exc:  # storage down: keep the batch, never fail the desk
            reason = exc.message if isinstance(exc, CallCenterError) else repr(exc)
            _log.warning("agent sessions not stored yet (%d kept): %s", len(batch), reason)
            batch.extend(self._pending)
            self._pending = batch
            self._add([])
            return False
        return True

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not await self.flush():
                self._wake.set()  # try again after the pause
            await asyncio.sleep(self._flush_every_s)  # batch what arrives meanwhile

    async def stop(self) -> None:
        """Close the open sessions now and store everything buffered."""
        await cancel_and_wait([self._task])
        self._task = None
        self._add(self._tracker.close_all(self._clock.now()))
        await self.flush()
