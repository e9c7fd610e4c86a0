"""Owned background work for the runtime: the media switch's task owner plus named timers,
all cancelled on stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cluster.logs import log
from site_node.media.tasks import TaskOwner

_log = logging.getLogger(__name__)


class Owner(TaskOwner):
    """Spawns tasks whose failures are logged (never lost) and arms timers; ``stop`` ends both."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._timers: dict[str, asyncio.TimerHandle] = {}

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
        await super().stop()
