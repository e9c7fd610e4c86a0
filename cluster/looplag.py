"""Event loop lag: how late the loop runs a callback it was asked to run on time.

A process whose loop lags answers signalling, media timers and etcd keep-alives late (a site's
lease can expire while it is busy). :class:`LoopLagMonitor` sleeps ``interval_s`` at a time and
records how much later than asked it woke up in the histogram ``cc_event_loop_lag_seconds``.

It is a background task owned by the node (``start()`` / ``stop()``, which cancels and awaits).
"""

from __future__ import annotations

import asyncio

from prometheus_client import Histogram

from cluster.tasks import cancel_and_wait

LOOP_LAG = Histogram(
    "cc_event_loop_lag_seconds",
    "how late the event loop ran a timer",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def lag_of(asked_at: float, interval_s: float, woke_at: float) -> float:
    """How late a sleep of ``interval_s`` started at ``asked_at`` woke (never negative)."""
    return max(0.0, woke_at - asked_at - interval_s)


class LoopLagMonitor:
    def __init__(self, interval_s: float = 0.5) -> None:
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self._interval_s)
            lag = lag_of(asked, self._interval_s, loop.time())
            LOOP_LAG.observe(lag)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait([task])
