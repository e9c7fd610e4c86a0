"""The supervisor console's view: who sees whom, what a call shows (caller masked), filters."""

from __future__ import annotations

from collections.abc import Mapping

from cluster.callrecords import CallRecord, RecordState
from site_node.agent import Agent, Answer, Login, Offer, SetNotReady
from site_node.agents.live import LiveAgent
from site_node.call import Call
from site_node.calls.live import LiveCall
from site_node.supervision.view import console_view, sees_agent

T0 = 1_000.0
QUEUES = {
    "retail": {"skill": "retail", "waiting": 2, "longest_wait_s": 31.0, "ready": 0, "staffed": 2},
    "wealth": {"skill": "wealth", "waiting": 0, "longest_wait_s": 0.0, "ready": 1, "staffed": 1},
}


def _agent(agent_id: str, team: str, skills: dict[str, int], *events: object) -> LiveAgent:
    live = LiveAgent(Agent(agent_id), agent_id.title(), skills, team=team)
    for i, event in enumerate(events):
        live.transitions.append(live.agent.apply(event, T0 + i))  # type: ignore[arg-type]
    return live


def _floor() -> tuple[list[LiveAgent], dict[str, LiveCall]]:
    call = Call("c-1", site="north", caller_number="+8613812345678", dialled_number="95588", now=T0)
    call.queue = "retail"
    lc = LiveCall(call, CallRecord("c-1", "north", RecordState.ROUTED, "retail", 0, T0))
    talking = _agent("alice", "red", {"retail": 7}, Login(ready=True), Offer("c-1", 10), Answer("c-1"))
    paused = _agent("bob", "red", {"retail": 3}, Login(), SetNotReady("training"))
    other = _agent("carol", "blue", {"wealth": 5}, Login(ready=True))
    return [talking, paused, other], {"c-1": lc}


def _view(extra: Mapping[str, object], **filters: str) -> dict[str, object]:
    agents, calls = _floor()
    return console_view(extra, site="north", agents=agents, calls=calls, queues=QUEUES, now=T0 + 20, **filters)


def test_a_team_leader_sees_their_team_with_state_time_and_the_call_masked() -> None:
    view = _view({"role": "team_leader", "team": "red"})
    rows = {a["agent_id"]: a for a in view["agents"]}  # type: ignore[attr-defined]
    assert sorted(rows) == ["alice", "bob"]
    alice = rows["alice"]
    assert (alice["state"], alice["in_state_s"], alice["skills"]) == ("on_call", 18.0, {"retail": 7})
    assert alice["call"]["caller"] == "*********5678" and alice["call"]["queue"] == "retail"
    assert "13812345678" not in str(view)
    assert (rows["bob"]["state"], rows["bob"]["reason"], rows["bob"]["call"]) == ("not_ready", "training", None)
    assert view["queues"]["retail"]["waiting"] == 2  # type: ignore[index]


def test_a_manager_sees_everyone_and_filters_by_team_or_queue() -> None:
    manager = {"role": "manager"}
    assert [a["agent_id"] for a in _view(manager)["agents"]] == ["carol", "alice", "bob"]  # type: ignore[attr-defined]
    assert [a["agent_id"] for a in _view(manager, team="blue")["agents"]] == ["carol"]  # type: ignore[attr-defined]
    by_queue = _view(manager, queue="wealth")
    assert [a["agent_id"] for a in by_queue["agents"]] == ["carol"]  # type: ignore[attr-defined]
    assert list(by_queue["queues"]) == ["wealth"]  # type: ignore[call-overload]


def test_agents_and_compliance_see_nobody() -> None:
    for extra in ({"role": "agent", "team": "red"}, {"role": "compliance"}, {}):
        assert _view(extra)["agents"] == []
        assert not sees_agent(extra, "red")
    assert not sees_agent({"role": "team_leader", "team": "red"}, "blue")
