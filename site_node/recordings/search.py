"""A recording search's filters, parsed and checked before anything is read (pure).

The same names at a site (``GET /v1/recordings``) and at central (which passes them on to every
site): ``from`` / ``to`` (epoch seconds, the recording's start), ``queue``, ``agent``,
``customer``, ``outcome`` (the CDR's ``end_reason``), ``min_duration_s`` / ``max_duration_s``,
``limit`` (1-500). Anything else, or a bad value, is ``400 recordings.bad_filter`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from site_node.recordings.errors import BadRecordingFilter

MAX_PAGE = 500
TEXT = ("queue", "agent", "customer", "outcome", "site")
NUMBERS = ("from", "to", "min_duration_s", "max_duration_s", "limit")


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    start: float = 0.0
    end: float = 1e12
    queue: str | None = None
    agent: str | None = None
    customer: str | None = None
    outcome: str | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    limit: int = 100

    def storage_args(self) -> dict[str, Any]:
        return {"queue": self.queue, "agent_id": self.agent, "customer_id": self.customer, "outcome": self.outcome,
                "min_duration_s": self.min_duration_s, "max_duration_s": self.max_duration_s,
                "limit": self.limit}  # fmt: skip

    def query(self) -> dict[str, str]:
        """The filters again as query parameters (what central sends each site)."""
        values = {"from": self.start, "to": self.end, "queue": self.queue, "agent": self.agent,
                  "customer": self.customer, "outcome": self.outcome, "min_duration_s": self.min_duration_s,
                  "max_duration_s": self.max_duration_s, "limit": self.limit}  # fmt: skip
        return {k: repr(v) if isinstance(v, float) else str(v) for k, v in values.items() if v is not None}


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise BadRecordingFilter(f"{name}: a number", field=name) from None
    if not math.isfinite(value) or value < 0:
        raise BadRecordingFilter(f"{name}: a number of 0 or more", field=name)
    return value


def parse_filter(query: Mapping[str, str]) -> RecordingFilter:
    unknown = sorted(set(query) - set(TEXT) - set(NUMBERS))
    if unknown:
        raise BadRecordingFilter(f"{unknown[0]}: not a recording filter (use {', '.join(TEXT + NUMBERS)})",
                                 field=unknown[0])  # fmt: skip
    for name in TEXT:
        if len(query.get(name, "")) > 64:
            raise BadRecordingFilter(f"{name}: at most 64 characters", field=name)
    nums = {name: _number(name, query[name]) for name in NUMBERS if query.get(name)}
    limit = nums.get("limit", 100)
    if not 1 <= limit <= MAX_PAGE or limit != int(limit):
        raise BadRecordingFilter(f"limit: a whole number from 1 to {MAX_PAGE}", field="limit")
    found = RecordingFilter(
        start=nums.get("from", 0.0), end=nums.get("to", 1e12), limit=int(limit),
        min_duration_s=nums.get("min_duration_s"), max_duration_s=nums.get("max_duration_s"),
        **{name: query.get(name) or None for name in ("queue", "agent", "customer", "outcome")},
    )  # fmt: skip
    if found.end <= found.start:
        raise BadRecordingFilter("to: after from", field="to")
    low, high = found.min_duration_s, found.max_duration_s
    if low is not None and high is not None and high < low:
        raise BadRecordingFilter("max_duration_s: at least min_duration_s", field="max_duration_s")
    return found
