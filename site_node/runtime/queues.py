"""The site's queues as the ACD sees them, and the load summary the site publishes."""

from __future__ import annotations

from typing import Any, Protocol

from site_node.acd import Acd, LimitAction, QueueConfig
from site_node.agent import agents_by_state
from site_node.agents.live import LiveAgent

NO_WAIT_S = 3600.0  # expected wait published for a skill nobody is staffed for
QUEUE_FIELDS = ("skill", "waiting", "longest_wait_s", "staffed", "ready", "answered", "service_level", "sl_threshold_s")


def queue_config(view: Any) -> QueueConfig:
    action = {"voicemail": LimitAction.VOICEMAIL, "callback": LimitAction.CALLBACK}.get(
        view.overflow_action, LimitAction.OVERFLOW if view.overflow_target else LimitAction.VOICEMAIL
    )
    return QueueConfig(
        name=view.name,
        skill=view.skill,
        min_level=view.min_level,
        sl_threshold_s=view.service_level_s,
        max_wait_s=view.max_wait_s or None,
        max_wait_action=action,
        max_wait_target=view.overflow_target if action is LimitAction.OVERFLOW else None,
        max_length=view.max_length or None,
        max_length_action=LimitAction.CALLBACK,
    )


class Agents(Protocol):
    agents: dict[str, LiveAgent]

    def summary(self) -> dict[str, Any]: ...


def load_summary(acd: Acd, desk: Agents, live_calls: int, now: float) -> dict[str, Any]:
    """Per skill: staffed, ready, waiting and expected wait (what central routes on); per queue
    the figures the wallboard shows; the agents (for re-attach after a failover)."""
    snap = acd.snapshot(now)
    skills: dict[str, dict[str, Any]] = {}
    for queue in snap["queues"].values():
        load = skills.setdefault(queue["skill"], {"staffed": 0, "ready": 0, "waiting": 0, "expected_wait_s": 0.0})
        load["staffed"] = max(load["staffed"], queue["staffed"])
        load["ready"] = max(load["ready"], queue["ready"])
        load["waiting"] += queue["waiting"]
        ewt = queue["expected_wait_s"]
        load["expected_wait_s"] = max(load["expected_wait_s"], NO_WAIT_S if ewt is None else round(ewt, 1))
    return {
        "skills": skills,
        "queues": {name: {k: q[k] for k in QUEUE_FIELDS} for name, q in snap["queues"].items()},
        "agents_by_state": agents_by_state(live.agent for live in desk.agents.values()),
        "agents": desk.summary(),
        "live_calls": live_calls,
    }
