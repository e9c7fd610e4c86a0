"""ACD: routing order, agent choice, overflow, limits, estimates (example-based)."""

from __future__ import annotations

import pytest

from site_node.acd import (
    Acd,
    AcdConfigInvalid,
    DuplicateCall,
    LimitAction,
    LimitReached,
    OfferCall,
    Overflowed,
    OverflowRule,
    QueueConfig,
    Queued,
    Relaxed,
    UnknownAgent,
    UnknownQueue,
)

T0 = 1_700_000_000.0


def offers(decisions: list) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, OfferCall)]


def test_priority_first_then_original_arrival() -> None:
    acd = Acd([QueueConfig("retail", "retail")])
    acd.add_agent("a1", {"retail": 5})
    acd.on_call_arrival("late-low", "retail", T0 + 1, priority=0)
    acd.on_call_arrival("early-low", "retail", T0 + 2, priority=0, original_arrival_at=T0 - 60)
    acd.on_call_arrival("vip", "retail", T0 + 3, priority=5)
    order = []
    for i in range(3):
        got = offers(acd.on_agent_ready("a1", T0 + 10 + i))
        order.append(got[0][0])
        acd.release("a1")
    assert order == ["vip", "early-low", "late-low"]


def test_agent_choice_best_level_then_longest_idle() -> None:
    acd = Acd([QueueConfig("cards", "cards", min_level=3)])
    acd.add_agent("low", {"cards": 2})
    acd.add_agent("mid-recent", {"cards": 7})
    acd.add_agent("mid-idle", {"cards": 7})
    acd.add_agent("top", {"cards": 9})
    acd.on_agent_ready("low", T0)
    acd.on_agent_ready("mid-idle", T0 + 1)
    acd.on_agent_ready("mid-recent", T0 + 5)
    acd.on_agent_ready("top", T0 + 6)
    assert offers(acd.on_call_arrival("c1", "cards", T0 + 10)) == [("c1", "top")]
    assert offers(acd.on_call_arrival("c2", "cards", T0 + 11)) == [("c2", "mid-idle")]
    assert offers(acd.on_call_arrival("c3", "cards", T0 + 12)) == [("c3", "mid-recent")]
    queued = acd.on_call_arrival("c4", "cards", T0 + 13)  # "low" is below the queue's level
    assert [type(d) for d in queued] == [Queued] and acd.waiting("cards") == 1


def test_idle_since_from_the_agent_machine_is_respected() -> None:
    acd = Acd([QueueConfig("q", "s")])
    acd.add_agent("a", {"s": 5})
    acd.add_agent("b", {"s": 5})
    acd.on_agent_ready("a", T0 + 10, idle_since=T0 + 10)
    acd.on_agent_ready("b", T0 + 11, idle_since=T0 + 1)  # e.g. a cancelled offer kept its place
    assert offers(acd.on_call_arrival("c", "q", T0 + 12)) == [("c", "b")]


def test_timed_relaxation_lowers_the_level() -> None:
    acd = Acd([QueueConfig("loans", "loans", min_level=8,
                           overflow=(OverflowRule(after_s=30, min_level=4),))])
    acd.add_agent("junior", {"loans": 5})
    acd.on_agent_ready("junior", T0)
    assert [type(d) for d in acd.on_call_arrival("c1", "loans", T0)] == [Queued]
    assert acd.next_timer_at() == T0 + 30
    assert acd.tick(T0 + 29.9) == []
    decisions = acd.tick(T0 + 30)
    assert decisions == [Relaxed("c1", "loans", 4, ()),
                         OfferCall("c1", "junior", "loans", "loans", 5, 30.0)]


def test_timed_overflow_adds_another_queue() -> None:
    acd = Acd([
        QueueConfig("vip", "vip", overflow=(OverflowRule(after_s=20, add_queue="retail"),)),
        QueueConfig("retail", "retail"),
    ])
    acd.add_agent("r1", {"retail": 3})
    acd.on_agent_ready("r1", T0)
    acd.on_call_arrival("v1", "vip", T0, priority=10)
    decisions = acd.tick(T0 + 20)
    assert decisions[0] == Relaxed("v1", "vip", 1, ("retail",))
    assert decisions[1] == OfferCall("v1", "r1", "vip", "retail", 3, 20.0)


def test_overflowed_call_is_found_by_a_newly_ready_agent_of_the_added_queue() -> None:
    acd = Acd([
        QueueConfig("vip", "vip", overflow=(OverflowRule(after_s=20, add_queue="retail"),)),
        QueueConfig("retail", "retail"),
    ])
    acd.add_agent("r1", {"retail": 3})
    acd.on_call_arrival("r-call", "retail", T0 + 5)
    acd.on_call_arrival("v1", "vip", T0, priority=10)
    acd.tick(T0 + 20)
    assert offers(acd.on_agent_ready("r1", T0 + 21)) == [("v1", "r1")]  # priority 10 first
    acd.release("r1")
    assert offers(acd.on_agent_ready("r1", T0 + 22)) == [("r-call", "r1")]


def test_max_wait_actions() -> None:
    acd = Acd([
        QueueConfig("a", "s", max_wait_s=60, max_wait_action=LimitAction.OVERFLOW,
                    max_wait_target="b"),
        QueueConfig("b", "t", max_wait_s=60, max_wait_action=LimitAction.VOICEMAIL),
    ])
    acd.on_call_arrival("c1", "a", T0, original_arrival_at=T0 - 5)
    moved = acd.tick(T0 + 60)
    assert moved[0] == Overflowed("c1", "a", "b", "t", "max_wait")
    assert isinstance(moved[1], Queued) and moved[1].queue == "b"
    assert acd.waiting("a") == 0 and acd.waiting("b") == 1
    assert acd.tick(T0 + 119) == []
    assert acd.tick(T0 + 120) == [LimitReached("c1", "b", LimitAction.VOICEMAIL, "max_wait")]
    assert acd.waiting() == 0


def test_max_length_actions() -> None:
    acd = Acd([
        QueueConfig("small", "s", max_length=1, max_length_action=LimitAction.CALLBACK),
        QueueConfig("spill", "s", max_length=1, max_length_action=LimitAction.OVERFLOW,
                    max_length_target="small"),
    ])
    acd.on_call_arrival("c1", "small", T0)
    assert acd.on_call_arrival("c2", "small", T0) == [
        LimitReached("c2", "small", LimitAction.CALLBACK, "max_length")]
    acd.on_call_arrival("c3", "spill", T0)
    decisions = acd.on_call_arrival("c4", "spill", T0)
    assert decisions[0] == Overflowed("c4", "spill", "small", "s", "max_length")
    assert acd.waiting("small") == 2  # overflow moves ignore the target's own length limit
    acd.on_call_arrival("c5", "small", T0, bypass_limits=True)  # a requeue is never refused
    assert acd.waiting("small") == 3


def test_requeue_after_failed_offer_keeps_its_place() -> None:
    acd = Acd([QueueConfig("q", "s")])
    acd.add_agent("a1", {"s": 5})
    acd.add_agent("a2", {"s": 5})
    acd.on_call_arrival("first", "q", T0)
    acd.on_call_arrival("second", "q", T0 + 1)
    assert offers(acd.on_agent_ready("a1", T0 + 2)) == [("first", "a1")]
    acd.release("a1")  # ring-no-answer: the agent goes not ready, the call goes back
    acd.on_call_arrival("first", "q", T0 + 20, original_arrival_at=T0, enqueued_at=T0,
                        bypass_limits=True)
    assert acd.position("first") == 1 and acd.position("second") == 2
    assert offers(acd.on_agent_ready("a2", T0 + 21)) == [("first", "a2")]


def test_catch_up_relaxation_on_requeue_with_old_entry_time() -> None:
    acd = Acd([QueueConfig("q", "s", min_level=9, overflow=(OverflowRule(30, min_level=1),))])
    acd.add_agent("a", {"s": 2})
    acd.on_agent_ready("a", T0)
    decisions = acd.on_call_arrival("c", "q", T0 + 100, enqueued_at=T0)
    assert decisions == [Relaxed("c", "q", 1, ()), OfferCall("c", "a", "q", "s", 2, 100.0)]


def test_capacity_two_agent_takes_two_calls_then_no_more() -> None:
    acd = Acd([QueueConfig("chat", "chat")])
    acd.add_agent("a", {"chat": 5}, capacity=2)
    for i in range(3):
        acd.on_call_arrival(f"c{i}", "chat", T0 + i)
    assert offers(acd.on_agent_ready("a", T0 + 5)) == [("c0", "a"), ("c1", "a")]
    acd.release("a")
    assert offers(acd.on_agent_ready("a", T0 + 6)) == [("c2", "a")]
    acd.on_call_arrival("c3", "chat", T0 + 7)
    assert acd.waiting() == 1
    acd.on_agent_ready("a", T0 + 8)  # already at capacity: stays unavailable
    assert acd.waiting() == 1


def test_unavailable_and_removed_agents_get_nothing() -> None:
    acd = Acd([QueueConfig("q", "s")])
    acd.add_agent("a", {"s": 5})
    acd.add_agent("b", {"s": 5})
    acd.on_agent_ready("a", T0)
    acd.on_agent_ready("b", T0 + 1)
    acd.on_agent_unavailable("a")
    acd.remove_agent("b")
    assert [type(d) for d in acd.on_call_arrival("c", "q", T0 + 2)] == [Queued]
    assert acd.remove_call("c") and not acd.remove_call("c")
    assert acd.waiting() == 0


def test_expected_wait_and_position_method() -> None:
    acd = Acd([QueueConfig("q", "s", min_level=2, default_aht_s=120)])
    assert acd.on_call_arrival("c0", "q", T0)[0] == Queued("c0", "q", 1, None)  # nobody staffed
    acd.add_agent("a", {"s": 5})
    acd.add_agent("b", {"s": 3})
    acd.add_agent("too-low", {"s": 1})
    assert acd.staffed("q") == 2
    queued = acd.on_call_arrival("c1", "q", T0 + 1)[0]
    assert queued == Queued("c1", "q", 2, 2 * 120 / 2)
    acd.on_call_arrival("c2", "q", T0 + 2, priority=1)
    assert acd.position("c2") == 1 and acd.position("c1") == 3
    assert acd.expected_wait("q", call_id="c1") == 3 * 120 / 2
    assert acd.expected_wait("q", priority=0) == 4 * 120 / 2
    for handle in (100.0, 200.0, 300.0):
        acd.record_handle_time("q", handle)
    assert acd.expected_wait("q", call_id="c2") == 1 * 200 / 2
    assert acd.position("nope") is None and acd.expected_wait("q", call_id="nope") is None


def test_a_moved_call_is_told_its_exact_place_not_the_tail() -> None:
    """After a failover a call keeps its original arrival: the position it is told on arrival
    is where it really stands (ahead of calls that arrived after it), as position() says."""
    acd = Acd([QueueConfig("q", "s")])
    acd.on_call_arrival("later-1", "q", T0 + 10)
    acd.on_call_arrival("later-2", "q", T0 + 11)
    acd.on_call_arrival("vip", "q", T0 + 12, priority=5)
    moved = acd.on_call_arrival("moved", "q", T0 + 20, original_arrival_at=T0)[0]
    assert isinstance(moved, Queued) and moved.position == acd.position("moved") == 2
    tie = acd.on_call_arrival("tie", "q", T0 + 21, original_arrival_at=T0 + 11)[0]
    assert isinstance(tie, Queued) and tie.position == acd.position("tie") == 5
    tail = acd.on_call_arrival("new", "q", T0 + 22)[0]
    assert isinstance(tail, Queued) and tail.position == acd.position("new") == 6


def test_rolling_aht_window() -> None:
    acd = Acd([QueueConfig("q", "s")], aht_window=2)
    for handle in (1000.0, 10.0, 30.0):
        acd.record_handle_time("q", handle)
    assert acd.snapshot(T0)["queues"]["q"]["aht_s"] == 20.0


def test_snapshot_and_service_level() -> None:
    acd = Acd([QueueConfig("q", "s", sl_threshold_s=20), QueueConfig("r", "t")])
    acd.add_agent("a", {"s": 5})
    acd.add_agent("b", {"s": 5, "t": 2})
    acd.add_agent("c", {"t": 2})
    acd.on_agent_ready("b", T0)
    acd.on_call_arrival("c1", "q", T0, original_arrival_at=T0 - 30)  # goes to b
    acd.on_call_arrival("c2", "q", T0 + 5, original_arrival_at=T0 - 50)
    acd.on_call_arrival("c3", "q", T0 + 6)
    acd.on_agent_ready("c", T0 + 7)
    acd.record_answer("q", 10)
    acd.record_answer("q", 30)
    snap = acd.snapshot(T0 + 10)
    assert snap["waiting"] == 2
    assert snap["agents"] == {"logged_in": 3, "ready": 1, "busy": 1, "not_ready": 1}
    q = snap["queues"]["q"]
    assert (q["waiting"], q["longest_wait_s"], q["staffed"], q["ready"]) == (2, 60.0, 2, 0)
    assert q["service_level"] == 0.5 and q["sl_threshold_s"] == 20
    assert snap["queues"]["r"]["ready"] == 1 and snap["queues"]["r"]["longest_wait_s"] == 0.0


def test_errors_have_stable_ids() -> None:
    acd = Acd([QueueConfig("q", "s")])
    with pytest.raises(UnknownQueue) as q_err:
        acd.on_call_arrival("c", "nope", T0)
    with pytest.raises(UnknownAgent) as a_err:
        acd.on_agent_ready("ghost", T0)
    acd.on_call_arrival("c", "q", T0)
    with pytest.raises(DuplicateCall) as d_err:
        acd.on_call_arrival("c", "q", T0)
    assert (q_err.value.error_id, a_err.value.error_id, d_err.value.error_id) == (
        "acd.unknown_queue", "acd.unknown_agent", "acd.duplicate_call")
    with pytest.raises(AcdConfigInvalid):
        acd.add_agent("x", {"s": 11})
    with pytest.raises(AcdConfigInvalid):
        acd.add_agent("x", {"s": 1}, capacity=0)


@pytest.mark.parametrize(("queues", "needle"), [
    ([QueueConfig("q", "s", min_level=0)], "queue q"),
    ([QueueConfig("q", "s", overflow=(OverflowRule(10),))], "needs min_level or add_queue"),
    ([QueueConfig("q", "s", min_level=3, overflow=(OverflowRule(10, min_level=2),
                                                   OverflowRule(5, min_level=1)))],
     "increasing"),
    ([QueueConfig("q", "s", min_level=3, overflow=(OverflowRule(10, min_level=5),))],
     "cannot raise"),
    ([QueueConfig("q", "s", overflow=(OverflowRule(10, add_queue="q"),))], "add_queue"),
    ([QueueConfig("q", "s", max_wait_s=10, max_wait_action=LimitAction.OVERFLOW)], "max_wait"),
    ([QueueConfig("q", "s", max_length=0)], "max_length"),
    ([QueueConfig("q", "s", sl_threshold_s=0)], "thresholds"),
])
def test_invalid_queue_config_names_the_queue(queues: list[QueueConfig], needle: str) -> None:
    with pytest.raises(AcdConfigInvalid) as info:
        Acd(queues)
    assert needle in info.value.message and info.value.error_id == "acd.invalid_config"


def test_many_stale_entries_are_compacted() -> None:
    acd = Acd([QueueConfig("q", "s")])
    for i in range(500):
        acd.on_call_arrival(f"c{i}", "q", T0 + i)
        acd.remove_call(f"c{i}")
    acd.on_call_arrival("last", "q", T0 + 600)
    acd.add_agent("a", {"s": 1})
    assert offers(acd.on_agent_ready("a", T0 + 601)) == [("last", "a")]
