"""Calling hours in the contact's own time zone, pure.

A :class:`CallingHours` is a weekly window per weekday (local time) plus holidays (local dates);
``allowed(now, tz)`` says whether a call may be placed now, ``next_allowed(now, tz)`` when the
next window opens (epoch seconds). Regulators count the called person's clock, not ours.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from central.campaigns.errors import BadPolicy

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadPolicy(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)",
                        error_id="campaign.unknown_time_zone", field="tz", value=name) from None  # fmt: skip


def _minutes(text: str, day: str) -> int:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    minutes = int(match[1]) * 60 + int(match[2]) if match and int(match[2]) < 60 else -1
    if not 0 <= minutes <= 24 * 60:
        raise BadPolicy(f"calling hours of {day}: {text!r} is not HH:MM", field=f"hours.{day}")
    return minutes


@dataclass(frozen=True)
class CallingHours:
    windows: Mapping[int, tuple[int, int]]  # weekday (0 = Monday) -> [start, end) in minutes of the day
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> CallingHours:
        """``{"mon": "09:00-20:00", ..., "holidays": ["2026-12-25"]}``; a day left out is closed."""
        unknown = sorted(set(data) - set(DAYS) - {"holidays"})
        if unknown:
            raise BadPolicy(f"unknown day(s) in calling hours: {', '.join(unknown)}", field="hours", unknown=unknown)
        windows: dict[int, tuple[int, int]] = {}
        for index, day in enumerate(DAYS):
            if day not in data:
                continue
            start_text, sep, end_text = str(data[day]).partition("-")
            if not sep:
                raise BadPolicy(f"calling hours of {day}: {data[day]!r} is not HH:MM-HH:MM", field=f"hours.{day}")
            start, end = _minutes(start_text, day), _minutes(end_text, day)
            if start >= end:
                raise BadPolicy(f"calling hours of {day}: {data[day]!r} ends before it starts", field=f"hours.{day}")
            windows[index] = (start, end)
        try:
            holidays = frozenset(dt.date.fromisoformat(str(d)) for d in data.get("holidays", []))
        except ValueError as exc:
            raise BadPolicy(f"a holiday is not a date (YYYY-MM-DD): {exc}", field="hours.holidays") from None
        return cls(windows, holidays)

    def allowed(self, now: float, tz: str) -> bool:
        local = dt.datetime.fromtimestamp(now, zone(tz))
        window = self.windows.get(local.weekday())
        if window is None or local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        return window[0] <= minute < window[1]

    def next_allowed(self, now: float, tz: str) -> float | None:
        """``now`` when allowed now; else the next window's start (None: no window in 15 days)."""
        if self.allowed(now, tz):
            return now
        local = dt.datetime.fromtimestamp(now, zone(tz))
        for offset in range(15):
            day = local.date() + dt.timedelta(days=offset)
            window = self.windows.get(day.weekday())
            if window is None or day in self.holidays:
                continue
            midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone(tz))
            start = (midnight + dt.timedelta(minutes=window[0])).timestamp()
            if start > now:
                return start
        return None


ALWAYS = CallingHours({d: (0, 24 * 60) for d in range(7)})
