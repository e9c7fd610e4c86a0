"""Injected time. Logic never reads the clock itself; drivers pass ``clock.now()`` in.

``now()`` is wall-clock epoch seconds (what CDRs store); ``monotonic()`` is for timeouts.
Tests use :class:`ManualClock` and advance it explicitly.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to (for tests of pure logic and drivers)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 0.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now += seconds
        self._mono += seconds


SYSTEM_CLOCK = SystemClock()
