"""Agent state sessions: the pure tracker, and the writer that batches them into a real SQLite
site database without ever blocking the desk."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from cluster.clock import ManualClock
from cluster.tasks import TaskOwner
from site_node.agent import Agent, AgentEvent, Answer, Login, Logout, Offer, SetNotReady, SetReady
from site_node.agents.sessions import SessionTracker, SessionWriter
from site_node.storage import AgentSessionRecord, Storage
from site_node.storage.errors import StorageUnavailable

T0 = 1_700_000_000.0


def _day(agent: Agent, steps: Sequence[tuple[float, AgentEvent]]) -> list:
    return [agent.apply(event, T0 + at) for at, event in steps]


STEPS: list[tuple[float, AgentEvent]] = [
    (0, Login(ready=False, reason="login")),
    (60, SetReady()),
    (100, Offer("c1", 20.0)),
    (105, Answer("c1")),
    (200, SetNotReady("lunch")),  # remembered while on the call
]


def test_a_change_of_state_or_reason_closes_the_session() -> None:
    tracker = SessionTracker("north")
    agent = Agent("a1")
    closed = [r for t in _day(agent, STEPS) for r in tracker.on_transition(t)]
    assert [(r.state, r.reason, r.started_at - T0, r.ended_at - T0) for r in closed] == [
        ("not_ready", "login", 0, 60),
        ("ready", None, 60, 100),
        ("reserved", None, 100, 105),
    ]  # the remembered reason changed nothing yet: the agent is still on the call
    agent2 = Agent("a2")
    more = [r for t in _day(agent2, [(0, Login(ready=False, reason="login")), (30, SetNotReady("break"))])
            for r in tracker.on_transition(t)]  # fmt: skip
    assert [(r.agent_id, r.reason) for r in more] == [("a2", "login")]
    logged_out = tracker.on_transition(agent2.apply(Logout(), T0 + 90))
    assert [(r.state, r.reason, r.ended_at - T0) for r in logged_out] == [("not_ready", "break", 90)]
    at_stop = tracker.close_all(T0 + 300)
    assert [(r.agent_id, r.state, r.started_at - T0, r.ended_at - T0) for r in at_stop] == [("a1", "on_call", 105, 300)]
    assert tracker.close_all(T0 + 400) == []


class FlakyStore:
    def __init__(self) -> None:
        self.down = True
        self.rows: list[AgentSessionRecord] = []

    async def append(self, records: Sequence[AgentSessionRecord]) -> None:
        if self.down:
            raise StorageUnavailable("the database is down")
        self.rows.extend(records)


async def test_a_failed_flush_keeps_the_sessions_for_the_next_one() -> None:
    store, clock = FlakyStore(), ManualClock(T0)
    writer = SessionWriter(site="north", store=store, owner=TaskOwner("t"), clock=clock, max_pending=3)
    agent = Agent("a1")
    for t in _day(agent, STEPS):
        writer.record(t)  # synchronous, no I/O
    assert writer.pending == 3
    assert await writer.flush() is False and writer.pending == 3
    store.down = False
    assert await writer.flush() is True and writer.pending == 0
    assert [r.state for r in store.rows] == ["not_ready", "ready", "reserved"]
    store.down = True
    other = Agent("a3")
    steps: list[tuple[float, AgentEvent]] = [
        (300, Login(ready=True)), (310, SetNotReady("x")), (320, SetReady()), (330, SetNotReady("y")),
        (340, SetReady()), (350, SetNotReady("z")),
    ]  # fmt: skip
    for t in _day(other, steps):  # more than max_pending while storage is down: the oldest go
        writer.record(t)
    assert writer.pending == 3 and writer.dropped == 2
    assert await writer.flush() is False and writer.pending == 3


@pytest.fixture
async def storage(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'site.db'}")
    yield store
    await store.close()


async def test_sessions_reach_the_site_database_and_stop_closes_the_open_one(storage: Storage) -> None:
    clock, owner = ManualClock(T0), TaskOwner("sessions")
    writer = SessionWriter(site="north", store=storage.agent_sessions, owner=owner, clock=clock, flush_every_s=0.01)
    writer.start()
    agent = Agent("a1")
    for t in _day(agent, STEPS[:3]):
        writer.record(t)
    for _ in range(500):  # the owned task flushes in the background
        if len(await storage.agent_sessions.list("a1")) == 2:
            break
        await asyncio.sleep(0.02)
    assert [(r.state, r.reason) for r in await storage.agent_sessions.list("a1")] == [
        ("not_ready", "login"), ("ready", None)
    ]  # fmt: skip
    clock.advance(150)
    await writer.stop()
    await owner.stop()
    rows = await storage.agent_sessions.list("a1")
    assert [(r.site, r.state, r.started_at - T0, r.ended_at - T0) for r in rows] == [
        ("north", "not_ready", 0, 60),
        ("north", "ready", 60, 100),
        ("north", "reserved", 100, 150),
    ]
