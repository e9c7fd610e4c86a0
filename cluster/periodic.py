"""A round of work every ``interval_s`` on an injected scheduler, owned: ``stop()`` cancels the
timer and awaits a round in progress. A failed round is logged and the next one still runs.

Used by the work-order escalator and the notification retrier; tests drive it with a
:class:`~cluster.clock.ManualClock` (``clock.advance(...)`` then ``await periodic.drain()``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cluster.clock import LOOP_SCHEDULER, Scheduler
from cluster.logs import log
from cluster.tasks import OwnerClosed, TaskOwner

_log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self, name: str, interval_s: float, work: Callable[[], Awaitable[Any]], *, scheduler: Scheduler = LOOP_SCHEDULER
    ) -> None:
        self._name = name
        self._interval_s = interval_s
        self._work = work
        self._owner = TaskOwner(name, scheduler=scheduler)

    def start(self) -> None:
        self._owner.timer("tick", self._interval_s, self._tick)

    def _tick(self) -> None:
        try:
            self._owner.spawn(self._round(), "round")
        except OwnerClosed:
            pass

    async def _round(self) -> None:
        try:
            await self._work()
        except Exception:
            log(_log, logging.ERROR, "periodic round failed; retried next interval", task=self._name, exc_info=True)
        finally:
            if not self._owner.closed:
                self.start()

    async def drain(self) -> None:
        await self._owner.drain()

    async def stop(self) -> None:
        await self._owner.stop()
