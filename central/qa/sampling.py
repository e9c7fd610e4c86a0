"""The automatic weekly sample of calls per agent (pure; the seed makes it repeatable).

Rules, in order of priority: every call with a transfer (``transfers``), calls whose handle time
(answer to wrap-up end) is at least ``long_handle_s``, then random picks from the rest, drawn
with ``random.Random(f"{seed}:{week}:{agent}")`` so the same inputs always give the same sample
and one agent's calls do not change another's. At most ``per_agent`` calls each.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from central.qa.errors import BadSampleRules


@dataclass(frozen=True, slots=True)
class SampleRules:
    per_agent: int = 5
    seed: str = "qa"
    long_handle_s: float | None = 600.0
    transfers: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.per_agent <= 100:
            raise BadSampleRules("per_agent: a whole number from 1 to 100", field="per_agent")
        if self.long_handle_s is not None and not self.long_handle_s > 0:
            raise BadSampleRules("long_handle_s: a number of seconds above 0 (or null)", field="long_handle_s")


def handle_s(cdr: Mapping[str, Any]) -> float | None:
    start, end = cdr.get("answered_at"), cdr.get("wrap_up_end_at") or cdr.get("ended_at")
    return None if start is None or end is None else float(end) - float(start)


def weekly_sample(calls: Iterable[Mapping[str, Any]], rules: SampleRules, *, week: str) -> dict[str, list[str]]:
    """Agent -> the call ids picked for them, each with its reason first (transfer, long, random)."""
    by_agent: dict[str, list[Mapping[str, Any]]] = {}
    for cdr in calls:
        if cdr.get("agent_id") and cdr.get("answered_at") is not None:
            by_agent.setdefault(str(cdr["agent_id"]), []).append(cdr)
    picked: dict[str, list[str]] = {}
    for agent, mine in sorted(by_agent.items()):
        mine.sort(key=lambda c: str(c["call_id"]))
        chosen: list[str] = []
        if rules.transfers:
            chosen += [str(c["call_id"]) for c in mine if int(c.get("transfers") or 0) > 0]
        if rules.long_handle_s is not None:
            threshold = rules.long_handle_s
            long = [c for c in mine if (h := handle_s(c)) is not None and h >= threshold]
            chosen += [str(c["call_id"]) for c in long if str(c["call_id"]) not in chosen]
        rest = [str(c["call_id"]) for c in mine if str(c["call_id"]) not in chosen]
        random.Random(f"{rules.seed}:{week}:{agent}").shuffle(rest)
        picked[agent] = (chosen + rest)[: rules.per_agent]
    return picked
