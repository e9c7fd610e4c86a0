"""What a supervisor sees: pure functions over the site's agents, calls and queues.

A team leader sees the agents of their team (and the calls those agents hold); a manager or an
administrator sees every agent of the site. The caller's number is masked to its last four
digits; no attached data (PIN, account) ever reaches the console.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cluster.roles import allowed
from site_node.agents.live import LiveAgent
from site_node.call.data import mask_account
from site_node.calls.live import LiveCall


def sees_agent(claims_extra: Mapping[str, Any], team: str | None) -> bool:
    """Managers and administrators see everyone; a team leader their own team only."""
    role = claims_extra.get("role")
    role = role if isinstance(role, str) else None
    if allowed(role, "calls.supervise_any"):
        return True
    return allowed(role, "calls.supervise_team") and team is not None and claims_extra.get("team") == team


def _since(live: LiveAgent) -> float | None:
    return live.transitions[-1].at if live.transitions else None


def call_view(lc: LiveCall, now: float) -> dict[str, Any]:
    call = lc.call
    start = call.answered_at or call.queued_at or call.original_arrival_at
    hold = call.hold_started_at
    return {
        "call_id": call.call_id,
        "state": call.state.value,
        "caller": mask_account(call.caller_number) if call.caller_number else "",
        "queue": call.queue,
        "duration_s": None if start is None else round(max(0.0, now - start), 1),
        "on_hold_s": None if hold is None else round(max(0.0, now - hold), 1),
    }


def agent_view(live: LiveAgent, calls: Mapping[str, LiveCall], now: float, site: str) -> dict[str, Any]:
    since = _since(live)
    current = calls.get(live.current_call or "")
    return {
        "agent_id": live.agent_id,
        "name": live.name,
        "team": live.team,
        "site": site,
        "state": live.agent.state.value,
        "reason": live.agent.reason,
        "in_state_s": None if since is None else round(max(0.0, now - since), 1),
        "skills": dict(live.skills),
        "call": None if current is None else call_view(current, now),
    }


def console_view(
    claims_extra: Mapping[str, Any],
    *,
    site: str,
    agents: Iterable[LiveAgent],
    calls: Mapping[str, LiveCall],
    queues: Mapping[str, Mapping[str, Any]],
    now: float,
    team: str | None = None,
    queue: str | None = None,
) -> dict[str, Any]:
    """The console's snapshot for this supervisor, optionally filtered to one team or queue."""
    shown = []
    for live in agents:
        if not sees_agent(claims_extra, live.team) or (team and live.team != team):
            continue
        view = agent_view(live, calls, now, site)
        if queue and not _serves(live, queues.get(queue)):
            continue
        shown.append(view)
    shown.sort(key=lambda a: (a["team"] or "", a["agent_id"]))
    queue_rows = {
        name: {
            k: q.get(k)
            for k in ("skill", "waiting", "longest_wait_s", "ready", "staffed", "service_level", "expected_wait_s")
        }
        for name, q in sorted(queues.items())
        if not queue or name == queue
    }
    return {"site": site, "at": now, "agents": shown, "queues": queue_rows}


def _serves(live: LiveAgent, queue: Mapping[str, Any] | None) -> bool:
    return queue is not None and str(queue.get("skill")) in live.skills
