"""Injected time. Logic never reads the clock itself; drivers pass ``clock.now()`` in.

``now()`` is wall-clock epoch seconds (what CDRs store); ``monotonic()`` is for timeouts.
Tests use :class:`ManualClock` and advance it explicitly.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def monotonic(self) -> float: ...


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Runs a callback once after a delay (the event loop, or a manual clock in tests)."""

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle: ...


class LoopScheduler:
    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(delay_s, callback)


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class _ManualTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when told to (for tests of pure logic and drivers).

    It is also a :class:`Scheduler`: :meth:`advance` runs every timer that falls due, in
    deadline order, with the clock set to each timer's deadline as it fires.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 0.0
        self._timers: list[tuple[float, int, _ManualTimer, Callable[[], None]]] = []
        self._seq = itertools.count()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        handle = _ManualTimer()
        heapq.heappush(self._timers, (self._mono + max(0.0, delay_s), next(self._seq), handle, callback))
        return handle

    def pending(self) -> int:
        return sum(1 for t in self._timers if not t[2].cancelled)

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        until = self._mono + seconds
        while self._timers and self._timers[0][0] <= until:
            due, _, handle, callback = heapq.heappop(self._timers)
            self._step(due - self._mono)
            if not handle.cancelled:
                callback()
        self._step(until - self._mono)

    def _step(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds


SYSTEM_CLOCK = SystemClock()
LOOP_SCHEDULER = LoopScheduler()
