"""Small helpers shared by the IVR tests (not a conftest: plain imports)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from site_node.ivr import Flow, IvrEvent, Position, Step, parse_flow, step

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of a Shanghai local time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).timestamp()


WEEKDAY_10AM = at(2026, 3, 4, 10)  # a Wednesday
WEEKDAY_11PM = at(2026, 3, 4, 23)
SATURDAY_10AM = at(2026, 3, 7, 10)
NATIONAL_DAY = at(2026, 10, 1, 10)


def flow(*nodes: dict[str, Any], start: str | None = None, **top: Any) -> Flow:
    raw: dict[str, Any] = {"id": "t", "languages": ["en", "zh"], "nodes": list(nodes),
                           "start": start or nodes[0]["id"]}
    raw.update(top)
    return parse_flow(raw)


def run(f: Flow, pos: Position, events: Sequence[IvrEvent], now: float) -> list[Step]:
    steps = []
    for event in events:
        s = step(f, pos, event, now)
        steps.append(s)
        pos = s.position
    return steps


def texts(en: str, zh: str | None = None) -> dict[str, str]:
    return {"en": en, "zh": zh or f"{en} (zh)"}
