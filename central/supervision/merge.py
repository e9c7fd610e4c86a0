"""One console view from the sites' snapshots: pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_snapshots(
    snapshots: Mapping[str, Mapping[str, Any]], *, now: float, unavailable: list[str]
) -> dict[str, Any]:
    """Every site's agents (each row names its site) and queues (keyed ``site/queue``, with the
    site and the queue's name in the row), in a stable order: site, team, agent.

    An agent seen at two sites at once (moving during a failover) is shown once: at the site
    whose row is the most recent (``in_state_s`` smallest), so the console never counts them twice.
    """
    agents: dict[str, dict[str, Any]] = {}
    queues: dict[str, dict[str, Any]] = {}
    for site in sorted(snapshots):
        snap = snapshots[site]
        for row in snap.get("agents", []):
            row = {**row, "site": row.get("site") or site}
            seen = agents.get(row["agent_id"])
            if seen is None or _fresher(row, seen):
                agents[row["agent_id"]] = row
        for name, queue in sorted(dict(snap.get("queues", {})).items()):
            queues[f"{site}/{name}"] = {**queue, "site": site, "queue": name}
    rows = sorted(agents.values(), key=lambda a: (a["site"], a.get("team") or "", a["agent_id"]))
    return {
        "site": None,
        "sites": sorted(snapshots),
        "at": now,
        "agents": rows,
        "queues": queues,
        "unavailable": sorted(unavailable),
    }


def _fresher(row: Mapping[str, Any], seen: Mapping[str, Any]) -> bool:
    if row.get("state") == "logged_out":
        return False
    if seen.get("state") == "logged_out":
        return True
    mine, theirs = row.get("in_state_s"), seen.get("in_state_s")
    return mine is not None and (theirs is None or mine < theirs)
