"""Agent state sessions written by the real site services (manual clock) into the site's own
database: the desk's every change of state or not-ready reason, the open one closed at stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from site_node.metrics import LIVE
from tests.site_runtime.harness import Harness


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await Harness.start(tmp_path)
    yield harness
    LIVE.detach(harness.runtime.site)
    await harness.stop()


async def test_the_desk_writes_each_session_and_stop_closes_the_open_one(site: Harness) -> None:
    runtime, t0 = site.runtime, site.clock.now()  # (the flushing task is not started: the harness drains)
    agent = await site.agent("a-1", {"retail": 5})  # logs in not ready ("login")
    await site.advance(30)
    runtime.desk.command_state(agent.session, "ready", None)
    await site.advance(100)
    runtime.desk.command_state(agent.session, "not_ready", "lunch")
    await site.advance(600)
    assert runtime.agent_sessions.pending == 2  # buffered: the desk did no I/O
    await runtime.agent_sessions.stop()  # what SiteRuntime.stop does before closing storage
    rows = await runtime.storage.agent_sessions.list("a-1")
    assert [(r.site, r.state, r.reason, r.started_at - t0, r.ended_at - t0) for r in rows] == [
        (runtime.site, "not_ready", "login", 0, 30),
        (runtime.site, "ready", None, 30, 130),
        (runtime.site, "not_ready", "lunch", 130, 730),
    ]
