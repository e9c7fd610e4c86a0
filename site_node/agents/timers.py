"""What the desktop's timers show, derived from the agent machine (pure: ``now`` is passed in).

Durations, not timestamps, so the browser's clock never has to agree with the site's: the
desktop anchors each figure at the moment the ``agent_state`` event arrives and counts on.

    state_for_s     seconds in the current state (since the last change of state)
    ring_left_s     seconds left to answer the ringing call (None when nothing rings)
    wrap_up_left_s  seconds of after-call work left before it ends with "no code" (None: no limit)
"""

from __future__ import annotations

from collections.abc import Sequence

from site_node.agent import Agent, AgentState, AgentTransition

NO_CODE = "no_code"
"""The wrap-up code recorded when after-call work timed out before the agent chose one."""


def state_since(transitions: Sequence[AgentTransition]) -> float | None:
    """When the agent entered its current state (hold/resume count as changes of state)."""
    for t in reversed(transitions):
        if t.old is not t.new:
            return t.at
    return transitions[0].at if transitions else None


def _left(deadline: float | None, now: float) -> float | None:
    return None if deadline is None else round(max(0.0, deadline - now), 1)


def timers_view(agent: Agent, transitions: Sequence[AgentTransition], now: float) -> dict[str, float | None]:
    since = state_since(transitions)
    wrapping = agent.state is AgentState.AFTER_CALL_WORK
    return {
        "state_for_s": None if since is None else round(max(0.0, now - since), 1),
        "ring_left_s": _left(agent.ring_deadline, now) if agent.ringing_call_id else None,
        "wrap_up_left_s": _left(agent.wrap_up_deadline, now) if wrapping else None,
    }
