"""What one agent's desk shows about its queues and its own day (pure: ``now`` is passed in).

    queues        per queue the agent has the skill for: waiting calls and the longest wait
    handled       calls the agent finished today (answered, talked, wrapped up)
    aht_s         their average handle time: talk + hold + after-call work, from answer to the
                  end of wrap-up (None before the first)

"Today" starts at midnight UTC offset by the site's ``utc_offset_s``. Handled calls come from
the agent's transitions at this site (a desk that moved to a backup site starts its count there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from site_node.agent import AgentState, AgentTransition

_HANDLING = (AgentState.ON_CALL, AgentState.ON_HOLD, AgentState.AFTER_CALL_WORK)
_DAY_S = 86_400.0


def day_start(now: float, utc_offset_s: float = 0.0) -> float:
    """Epoch seconds of the local midnight that began the day containing ``now``."""
    return math.floor((now + utc_offset_s) / _DAY_S) * _DAY_S - utc_offset_s


def handled_calls(transitions: Sequence[AgentTransition], since: float) -> list[float]:
    """Handle times (seconds) of the calls answered at or after ``since`` and finished."""
    times: list[float] = []
    started: float | None = None
    for t in transitions:
        if t.new is AgentState.ON_CALL and t.old not in _HANDLING:
            started = t.at
        elif started is not None and t.new not in _HANDLING:
            if started >= since:
                times.append(max(0.0, t.at - started))
            started = None
    return times


def desk_figures(
    skills: Mapping[str, int],
    queues: Mapping[str, Mapping[str, Any]],
    transitions: Sequence[AgentTransition],
    now: float,
    *,
    utc_offset_s: float = 0.0,
    handled: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The ``desk_stats`` event's data for one agent (no caller data: counts and durations).
    ``handled``: the day's handle times when the caller already has them (see the push's memo)."""
    rows = [
        {
            "queue": name,
            "skill": str(q.get("skill")),
            "waiting": int(q.get("waiting") or 0),
            "longest_wait_s": round(float(q.get("longest_wait_s") or 0.0), 1),
        }
        for name, q in sorted(queues.items())
        if str(q.get("skill")) in skills
    ]
    times = handled_calls(transitions, day_start(now, utc_offset_s)) if handled is None else handled
    return {
        "queues": rows,
        "handled": len(times),
        "aht_s": round(sum(times) / len(times), 1) if times else None,
    }


def change_key(figures: Mapping[str, Any], now: float) -> tuple[Any, ...]:
    """What must differ for a new push: counts, and when the oldest call began waiting
    (a longer wait alone is not news: the desk counts it on from the last push)."""
    rows = tuple(
        (r["queue"], r["waiting"], round(now - r["longest_wait_s"]) if r["waiting"] else None)
        for r in figures["queues"]
    )
    return rows, figures["handled"], figures["aht_s"]
