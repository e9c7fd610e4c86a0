"""The media switch's 20 ms clock (owned tasks in general: :mod:`cluster.tasks`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)


class Tickable(Protocol):
    def on_tick(self) -> None: ...


class Ticker:
    """One 20 ms clock for the whole switch: players, mixers and recorders run on it.

    A tick that comes late is caught up (the next sleeps are shorter); when the loop falls
    more than ``max_lag_s`` behind, the schedule restarts from now and the skip is counted.
    """

    def __init__(self, period_s: float = 0.02, max_lag_s: float = 0.1) -> None:
        self.period_s = period_s
        self._max_lag_s = max_lag_s
        self._clients: dict[int, Tickable] = {}
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.skipped = 0

    def add(self, client: Tickable) -> None:
        self._clients[id(client)] = client

    def remove(self, client: Tickable) -> None:
        self._clients.pop(id(client), None)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="media-ticker")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += self.period_s
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > self._max_lag_s:
                self.skipped += int(-delay / self.period_s)
                deadline = loop.time()
            self.ticks += 1
            self._tick(list(self._clients.values()))

    @staticmethod
    def _tick(clients: list[Tickable]) -> None:
        for client in clients:
            try:
                client.on_tick()
            except Exception:
                logger.exception("tick of %r failed", client)


Callback = Callable[..., None]
