"""Owned background work for the runtime: named tasks and timers, all cancelled on stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from cluster.logs import log

_log = logging.getLogger(__name__)


class Owner:
    """Spawns tasks whose failures are logged (never lost) and cancels them all on ``stop``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log(_log, logging.ERROR, "background task failed", task=task.get_name(), exc_info=task.exception())

    def timer(self, key: str, delay_s: float, callback: Callable[[], None]) -> None:
        """(Re)arm the timer ``key``: ``callback`` runs once after ``delay_s``."""
        self.cancel_timer(key)

        def fire() -> None:
            self._timers.pop(key, None)
            try:
                callback()
            except Exception:
                log(_log, logging.ERROR, "timer callback failed", timer=key, exc_info=True)

        self._timers[key] = asyncio.get_running_loop().call_later(max(0.0, delay_s), fire)

    def cancel_timer(self, key: str) -> None:
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
