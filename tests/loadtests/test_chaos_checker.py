"""The chaos checker's invariants on hand-made histories: each one catches what it should."""

from __future__ import annotations

from typing import Any

from cluster.callrecords import CallRecord
from loadtests.chaos import checker
from loadtests.chaos.history import DeathEvent, ElectionEvent, RecordEvent


def row(call_id: str, site: str, **fields: Any) -> dict[str, Any]:
    base = {"call_id": call_id, "site": site, "queue": "q", "priority": 0, "original_arrival_at": 0.0,
            "queued_at": None, "offered_at": None, "first_offered_at": None, "answered_at": None,
            "ended_at": None, "end_reason": "answered_completed"}
    return {**base, **fields}


def rec(call_id: str, token: int, state: str = "routed") -> CallRecord:
    return CallRecord(call_id=call_id, site="s", state=state, skill="q", priority=0, original_arrival_at=0.0,
                      fencing_token=token)


def test_final_outcomes_find_lost_and_duplicated_calls() -> None:
    cdrs = {
        "ok": [row("ok", "a", end_reason="failed_over"), row("ok", "b")],
        "twice": [row("twice", "a"), row("twice", "b", end_reason="abandoned_in_queue")],
        "only_let_go": [row("only_let_go", "a", end_reason="failed_over")],
    }
    result = checker.final_outcomes(["ok", "twice", "only_let_go", "never_seen"], cdrs)
    assert result == {"lost": ["never_seen", "only_let_go"], "duplicated": ["twice"]}


def test_routing_checks_creation_leadership_and_token_order() -> None:
    election = [ElectionEvent(10, "/e/a", 10, False), ElectionEvent(50, "/e/a", 10, True),
                ElectionEvent(51, "/e/b", 51, False)]
    records = [
        RecordEvent(20, "c1", True, False, rec("c1", 10)),
        RecordEvent(30, "c1", False, False, rec("c1", 10, "queued")),
        RecordEvent(60, "c1", False, False, rec("c1", 51, "moving")),  # moved by the new leader: fine
        RecordEvent(61, "c2", True, False, rec("c2", 10)),  # the deposed leader wrote: caught
        RecordEvent(70, "c3", True, False, rec("c3", 51)),
        RecordEvent(71, "c3", False, True, None),
        RecordEvent(72, "c3", True, False, rec("c3", 51)),  # routed again after it ended: caught
        RecordEvent(80, "c1", False, False, rec("c1", 10, "moving")),  # token went backwards: caught
    ]
    result = checker.routing(records, election)
    assert result["double_routed"] == ["c3"]
    assert result["written_by_non_leader"] == ["c2@61", "c1@80"]
    assert result["tokens_backwards"] == ["c1"]


def test_one_agent_at_a_time() -> None:
    cdrs = {
        "handed_over": [row("handed_over", "a", answered_at=1.0, ended_at=9.0, end_reason="failed_over"),
                        row("handed_over", "b", answered_at=5.0, ended_at=20.0)],
        "overlap": [row("overlap", "a", answered_at=1.0, ended_at=9.0),
                    row("overlap", "b", answered_at=5.0, ended_at=20.0)],
    }
    assert checker.one_agent_at_a_time(cdrs) == ["overlap"]


def test_queue_order_counts_calls_passed_over_while_waiting() -> None:
    early = row("early", "a", original_arrival_at=1.0, queued_at=2.0, first_offered_at=30.0, ended_at=40.0)
    late = row("late", "a", original_arrival_at=5.0, queued_at=6.0, first_offered_at=10.0, ended_at=20.0)
    fair = row("fair", "a", original_arrival_at=7.0, queued_at=8.0, first_offered_at=31.0, ended_at=41.0)
    ringing = row("ringing", "a", original_arrival_at=0.5, queued_at=1.0, first_offered_at=3.0,
                  offered_at=35.0, ended_at=45.0)  # was ringing (first offer) when 'late' was offered
    other_queue = row("other", "a", queue="r", original_arrival_at=6.0, queued_at=7.0, first_offered_at=8.0)
    cdrs = {c["call_id"]: [c] for c in (early, late, fair, ringing, other_queue)}
    assert checker.queue_order(cdrs) == [("early", "late")]


def test_agents_consistent() -> None:
    statuses = {
        "a": {"calls": {"c1": {}}, "agents": {"x": {"state": "on_call", "call_id": "c1"},
                                             "y": {"state": "reserved", "call_id": "gone"},
                                             "z": {"state": "ready", "call_id": None}}},
    }
    assert checker.agents_consistent(statuses) == ["a:y"]


def test_service_level_dip_after_a_fault() -> None:
    outcomes = [{"queued_at": t, "outcome": "answered", "wait_s": 5.0} for t in range(0, 30, 2)]
    outcomes += [{"queued_at": 31.0, "outcome": "answered", "wait_s": 40.0},
                 {"queued_at": 33.0, "outcome": "abandoned", "wait_s": 50.0},
                 {"queued_at": 35.0, "outcome": "answered", "wait_s": 5.0},
                 {"queued_at": 36.0, "outcome": "answered", "wait_s": 5.0}]
    windows = checker.service_level_windows(outcomes, threshold_s=20.0)
    assert checker.sl_dip(windows, fault_at=30.0) == 0.5
    assert checker.sl_dip(windows, fault_at=10.0, after_s=15.0) == 0.0


def test_a_conversation_resumed_after_a_failover_is_not_a_queue_jump() -> None:
    waiting = row("waiting", "b", original_arrival_at=1.0, queued_at=2.0, first_offered_at=30.0, ended_at=40.0)
    resumed_there = row("talk", "a", original_arrival_at=5.0, queued_at=6.0, first_offered_at=6.5,
                        answered_at=7.0, ended_at=9.0, end_reason="failed_over")
    resumed_here = row("talk", "b", original_arrival_at=5.0, queued_at=12.0, first_offered_at=12.0,
                       answered_at=12.0, ended_at=20.0)
    cdrs = {"waiting": [waiting], "talk": [resumed_there, resumed_here]}
    assert checker.queue_order(cdrs) == []


def test_a_conversation_resumed_after_its_site_was_killed_is_not_a_queue_jump() -> None:
    """A killed site never wrote its row: the new site's row says where the call came from."""
    waiting = row("waiting", "b", original_arrival_at=1.0, queued_at=2.0, first_offered_at=30.0, ended_at=40.0)
    resumed = row("talk", "b", original_arrival_at=5.0, queued_at=12.0, first_offered_at=12.0,
                  answered_at=12.0, ended_at=20.0, resumed_from="connected")
    assert checker.queue_order({"waiting": [waiting], "talk": [resumed]}) == []
    requeued = {**resumed, "resumed_from": "queued"}  # it waited at the failed site: order counts
    assert checker.queue_order({"waiting": [waiting], "talk": [requeued]}) == [("waiting", "talk")]


def test_a_death_confirmed_outside_a_kill_of_that_site_is_a_false_failover() -> None:
    faults = [
        {"kind": "kill_site", "target": "branch-north", "at": 100.0, "healed_at": 105.0},
        {"kind": "pause_site", "target": "branch-south", "at": 120.0, "healed_at": 125.0},
        {"kind": "partition_site", "target": "branch-east", "at": 140.0, "healed_at": 145.0},
    ]
    legit = DeathEvent(10, "branch-north", 100.2, "connection refused x2")
    paused = DeathEvent(20, "branch-south", 121.0, "connection refused x2")
    cut = DeathEvent(30, "branch-east", 141.0, "connection refused x2")
    wrong_site = DeathEvent(11, "branch-south", 100.3, "connection refused x2")
    later = DeathEvent(40, "branch-north", 200.0, "connection refused x2")
    assert checker.false_failovers([legit], faults) == []
    assert checker.false_failovers([legit, paused, cut, wrong_site, later], faults) == [
        "branch-south@20", "branch-east@30", "branch-south@11", "branch-north@40"]


def test_a_queued_call_moved_in_from_another_site_waits_there_only_from_its_move() -> None:
    """Queued at east at 2.0, moved to north (enqueued there at 12.0): north serving a later
    arrival at 10.0 took nobody's place; serving one at 13.0 would have."""
    moved = row("moved", "north", original_arrival_at=1.0, queued_at=2.0, enqueued_here_at=12.0,
                first_offered_at=20.0, ended_at=30.0, failovers=1, resumed_from="queued")
    before = row("before", "north", original_arrival_at=5.0, queued_at=6.0, enqueued_here_at=6.0,
                 first_offered_at=10.0, ended_at=11.0)
    after = row("after", "north", original_arrival_at=7.0, queued_at=8.0, enqueued_here_at=8.0,
                first_offered_at=13.0, ended_at=14.0)
    assert checker.queue_order({"moved": [moved], "before": [before]}) == []
    assert checker.queue_order({"moved": [moved], "after": [after]}) == [("moved", "after")]
