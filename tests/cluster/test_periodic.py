"""The periodic owner: rounds on an injected clock, a failing round does not stop the next."""

from __future__ import annotations

import pytest

from cluster.clock import ManualClock
from cluster.periodic import Periodic


async def test_rounds_follow_the_clock_and_survive_failures(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    seen: list[float] = []

    async def work() -> None:
        seen.append(clock.now())
        if len(seen) == 2:
            raise RuntimeError("boom")

    periodic = Periodic("test", 10.0, work, scheduler=clock)
    periodic.start()
    for _ in range(3):
        clock.advance(10)
        await periodic.drain()
    assert [t - seen[0] for t in seen] == [0, 10, 20]
    assert "periodic round failed" in caplog.text
    await periodic.stop()
    assert clock.pending() == 0
    clock.advance(100)
    await periodic.drain()
    assert len(seen) == 3
