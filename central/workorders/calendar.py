"""Business hours: weekly opening intervals, holidays and a fixed UTC offset (pure functions).

``add_business_seconds(calendar, start, seconds)`` is the instant at which ``seconds`` of
business time have passed since ``start`` (epoch seconds): a deadline of "8 business hours"
set at 17:00 on a Friday falls due on Monday afternoon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

DAY_S = 86_400
MAX_DAYS = 3 * 366  # a calendar with (almost) no hours must not loop forever


@dataclass(frozen=True)
class BusinessCalendar:
    """``weekly[weekday]`` (0 = Monday) lists ``(open_s, close_s)`` seconds after local midnight."""

    weekly: Mapping[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    utc_offset_s: int = 0

    def __post_init__(self) -> None:
        for day, spans in self.weekly.items():
            if not 0 <= day <= 6:
                raise ValueError(f"weekday {day} is not 0 (Monday) .. 6 (Sunday)")
            for start, end in spans:
                if not 0 <= start < end <= DAY_S:
                    raise ValueError(f"opening span {start}..{end} on weekday {day} is not within one day")


ALWAYS_OPEN = BusinessCalendar({d: ((0, DAY_S),) for d in range(7)})


def office_hours(
    open_h: float = 9,
    close_h: float = 17,
    days: tuple[int, ...] = (0, 1, 2, 3, 4),
    holidays: frozenset[dt.date] = frozenset(),
    utc_offset_s: int = 0,
) -> BusinessCalendar:
    span = ((int(open_h * 3600), int(close_h * 3600)),)
    return BusinessCalendar({d: span for d in days}, holidays, utc_offset_s)


def add_business_seconds(calendar: BusinessCalendar, start: float, seconds: float) -> float:
    """The epoch instant after ``seconds`` of open time counted from ``start``."""
    if seconds < 0:
        raise ValueError("a deadline is never before its start")
    if seconds == 0:
        return start
    local = start + calendar.utc_offset_s
    day_start = local - (local % DAY_S)
    left = float(seconds)
    for _ in range(MAX_DAYS):
        date = dt.datetime.fromtimestamp(day_start, dt.UTC).date()
        if date not in calendar.holidays:
            for open_s, close_s in sorted(calendar.weekly.get(date.weekday(), ())):
                begin = max(local, day_start + open_s)
                end = day_start + close_s
                if begin >= end:
                    continue
                if left <= end - begin:
                    return begin + left - calendar.utc_offset_s
                left -= end - begin
        day_start += DAY_S
    raise ValueError(f"the calendar has too few open hours to fit {seconds} s within {MAX_DAYS} days")
