"""The desk's timer figures derived from the agent machine (issue 18, defect 4)."""

from __future__ import annotations

from site_node.agent import Agent, AgentState, AgentTransition
from site_node.agents.timers import state_since, timers_view


def _t(old: AgentState, new: AgentState, at: float) -> AgentTransition:
    return AgentTransition("a1", "x", old, new, at, None, ())


def test_time_in_state_counts_from_the_last_change_of_state() -> None:
    S = AgentState
    moves = [_t(S.LOGGED_OUT, S.NOT_READY, 10.0), _t(S.NOT_READY, S.READY, 20.0), _t(S.READY, S.READY, 25.0)]
    assert state_since(moves) == 20.0
    assert state_since([]) is None


def test_wrap_up_countdown_only_in_after_call_work() -> None:
    agent = Agent("a1")
    view = timers_view(agent, [_t(AgentState.LOGGED_OUT, AgentState.NOT_READY, 100.0)], 112.34)
    assert view == {"state_for_s": 12.3, "ring_left_s": None, "wrap_up_left_s": None}
    agent.state, agent.wrap_up_deadline = AgentState.AFTER_CALL_WORK, 130.0
    assert timers_view(agent, [], 112.0)["wrap_up_left_s"] == 18.0
    assert timers_view(agent, [], 140.0)["wrap_up_left_s"] == 0.0
