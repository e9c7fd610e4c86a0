"""Owned background work: every task and timer has one owner, and ``stop()`` ends them all.

:class:`TaskOwner` spawns tasks whose failures are logged (never lost) and arms named timers;
a closed owner refuses new work (:class:`OwnerClosed`) instead of dropping it silently.
Timers run on a :class:`~cluster.clock.Scheduler`: the event loop by default, a
:class:`~cluster.clock.ManualClock` in tests that advance time by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from cluster.clock import LOOP_SCHEDULER, Scheduler, TimerHandle

_log = logging.getLogger(__name__)


class OwnerClosed(RuntimeError):
    """Work was handed to an owner that has stopped."""


class TaskOwner:
    def __init__(self, name: str, *, scheduler: Scheduler = LOOP_SCHEDULER) -> None:
        self._name = name
        self._scheduler = scheduler
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: dict[str, TimerHandle] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        if self._closed:
            coro.close()
            raise OwnerClosed(f"{self._name} has stopped; {name} not started")
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("task %s failed", task.get_name(), exc_info=task.exception())

    def timer(self, key: str, delay_s: float, callback: Callable[[], None]) -> None:
        """(Re)arm the timer ``key``: ``callback`` runs once after ``delay_s``."""
        if self._closed:
            raise OwnerClosed(f"{self._name} has stopped; timer {key} not armed")
        self.cancel_timer(key)

        def fire() -> None:
            self._timers.pop(key, None)
            try:
                callback()
            except Exception:
                _log.error("timer %s of %s failed", key, self._name, exc_info=True)

        self._timers[key] = self._scheduler.call_later(max(0.0, delay_s), fire)

    def cancel_timer(self, key: str) -> None:
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()

    def has_timer(self, key: str) -> bool:
        return key in self._timers

    async def drain(self) -> None:
        """Wait until every task (and any task they spawn) has finished; timers stay armed."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self) -> None:
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        await cancel_and_wait(list(self._tasks))


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel every task, then await them; a task's own cancellation is not an error."""
    owned = [task for task in tasks if task is not None]
    for task in owned:
        task.cancel()
    for task in owned:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
