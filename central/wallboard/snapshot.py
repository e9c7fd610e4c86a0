"""The wallboard's snapshot: a pure function of the sites' published membership info.

Every central replica holds each live site's last published info (``ClusterState.sites``) and
the last info of sites that left (``ClusterState.departed``). :func:`build_snapshot` turns them
into what the wallboard shows, per site and per queue: calls waiting, longest wait, agents by
state, today's service level; and a cluster total. No I/O and no clock: equal inputs give
equal snapshots, which is how the stream knows that nothing changed.

Service level of a site or of the cluster: each queue publishes ``service_level = in_sl /
answered`` for the day, so weighting it by ``answered`` gives the exact share over the queues
(``None`` while nothing was answered). A site that left is listed with ``status: "left"`` and
no live figures; it counts in no total.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Display order of the agent states (site_node.agent.events.AgentState); others follow.
AGENT_STATES = (
    "ready",
    "reserved",
    "on_call",
    "on_hold",
    "after_call_work",
    "not_ready",
    "logged_out",
)

Info = Mapping[str, Any]


def _count(value: Any) -> int:
    """A non-negative count from published JSON (anything else counts as 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0
    return max(int(value), 0)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return max(float(value), 0.0)


def _share(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return min(max(float(value), 0.0), 1.0)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _agents(by_state: Any) -> dict[str, int]:
    counts = {state: 0 for state in AGENT_STATES}
    for state, n in sorted(_mapping(by_state).items()):
        counts[str(state)] = counts.get(str(state), 0) + _count(n)
    return counts


def _service_level(rows: list[dict[str, Any]]) -> float | None:
    """``answered``-weighted service level of ``rows`` (exact: in_sl / answered)."""
    weighted = [(r["service_level"], r["answered"]) for r in rows if r["service_level"] is not None]
    answered = sum(n for _, n in weighted)
    if not answered:
        return None
    return sum(sl * n for sl, n in weighted) / answered


def _max_wait(rows: list[dict[str, Any]]) -> float | None:
    waits = [r["longest_wait_s"] for r in rows if r["longest_wait_s"] is not None]
    return max(waits) if waits else None


def queue_row(name: str, q: Info) -> dict[str, Any]:
    return {
        "queue": name,
        "skill": str(q.get("skill") or name),
        "waiting": _count(q.get("waiting")),
        "longest_wait_s": _seconds(q.get("longest_wait_s")),
        "staffed": _count(q.get("staffed")),
        "ready": _count(q.get("ready")),
        "answered": _count(q.get("answered")),
        "service_level": _share(q.get("service_level")),
        "sl_threshold_s": _seconds(q.get("sl_threshold_s")),
    }


def site_row(name: str, info: Info) -> dict[str, Any]:
    queues = [queue_row(str(q), _mapping(v)) for q, v in sorted(_mapping(info.get("queues")).items())]
    return {
        "site": name,
        "status": "live",
        "waiting": sum(q["waiting"] for q in queues),
        "longest_wait_s": _max_wait(queues),
        "answered": sum(q["answered"] for q in queues),
        "service_level": _service_level(queues),
        "live_calls": _count(info.get("live_calls")),
        "agents_by_state": _agents(info.get("agents_by_state")),
        "queues": queues,
    }


def left_row(name: str) -> dict[str, Any]:
    return {
        "site": name,
        "status": "left",
        "waiting": 0,
        "longest_wait_s": None,
        "answered": 0,
        "service_level": None,
        "live_calls": 0,
        "agents_by_state": _agents({}),
        "queues": [],
    }


def build_snapshot(sites: Mapping[str, Info], departed: Mapping[str, Info]) -> dict[str, Any]:
    """The wallboard's data: ``{"sites": [...], "total": {...}}`` (sites by name)."""
    live = [site_row(name, _mapping(info)) for name, info in sorted(sites.items())]
    left = [left_row(name) for name in sorted(departed) if name not in sites]
    agents = _agents({})
    for row in live:
        for state, n in row["agents_by_state"].items():
            agents[state] = agents.get(state, 0) + n
    queues = [q for row in live for q in row["queues"]]
    total = {
        "sites_live": len(live),
        "sites_left": len(left),
        "waiting": sum(row["waiting"] for row in live),
        "longest_wait_s": _max_wait(live),
        "answered": sum(row["answered"] for row in live),
        "service_level": _service_level(queues),
        "live_calls": sum(row["live_calls"] for row in live),
        "agents_by_state": agents,
    }
    return {"sites": sorted(live + left, key=lambda r: r["site"]), "total": total}
