"""Agent state machine: every state x event pair, and whole event sequences."""

from __future__ import annotations

import logging

import pytest

from site_node.agent import (
    ALL_EVENT_TYPES,
    Agent,
    AgentCapacityExceeded,
    AgentError,
    AgentEvent,
    AgentEventInvalid,
    AgentState,
    AgentTimerNotDue,
    Answer,
    CallEnded,
    Decline,
    Dial,
    EndWrapUp,
    Hold,
    IllegalAgentTransition,
    Login,
    Logout,
    Offer,
    OfferCancelled,
    Retrieve,
    RingTimeout,
    SetNotReady,
    SetReady,
    SetWrapUp,
    WrapUpTimeout,
    agents_by_state,
)

T0 = 1_700_000_000.0
S = AgentState

BUILD: dict[AgentState, list[AgentEvent]] = {
    S.LOGGED_OUT: [],
    S.NOT_READY: [Login()],
    S.READY: [Login(ready=True)],
    S.RESERVED: [Login(ready=True), Offer("c1", 10)],
    S.ON_CALL: [Login(ready=True), Offer("c1", 10), Answer("c1")],
    S.ON_HOLD: [Login(ready=True), Offer("c1", 10), Answer("c1"), Hold("c1")],
    S.AFTER_CALL_WORK: [Login(ready=True), Offer("c1", 10), Answer("c1"), CallEnded("c1", 30)],
}

CANONICAL: dict[type, AgentEvent] = {
    Login: Login(),
    Logout: Logout(),
    SetReady: SetReady(),
    SetNotReady: SetNotReady("lunch"),
    Offer: Offer("c1", 10),
    Answer: Answer("c1"),
    RingTimeout: RingTimeout("c1"),
    Decline: Decline("c1"),
    OfferCancelled: OfferCancelled("c1"),
    Hold: Hold("c1"),
    Retrieve: Retrieve("c1"),
    Dial: Dial("c1"),
    CallEnded: CallEnded("c1", 30),
    SetWrapUp: SetWrapUp("sale", "sold a card"),
    EndWrapUp: EndWrapUp(),
    WrapUpTimeout: WrapUpTimeout(),
}

Outcome = AgentState | type[AgentError]
EXPECTED: dict[tuple[AgentState, type], Outcome] = {
    (S.LOGGED_OUT, Login): S.NOT_READY,
    (S.NOT_READY, Logout): S.LOGGED_OUT,
    (S.NOT_READY, SetReady): S.READY,
    (S.NOT_READY, SetNotReady): S.NOT_READY,
    (S.NOT_READY, Dial): S.ON_CALL,
    (S.READY, Logout): S.LOGGED_OUT,
    (S.READY, SetNotReady): S.NOT_READY,
    (S.READY, Offer): S.RESERVED,
    (S.READY, Dial): S.ON_CALL,
    (S.RESERVED, SetNotReady): S.RESERVED,
    (S.RESERVED, Answer): S.ON_CALL,
    (S.RESERVED, RingTimeout): S.NOT_READY,
    (S.RESERVED, Decline): S.NOT_READY,
    (S.RESERVED, OfferCancelled): S.READY,
    (S.ON_CALL, SetNotReady): S.ON_CALL,
    (S.ON_CALL, Offer): AgentEventInvalid,  # c1 is already with the agent
    (S.ON_CALL, Answer): AgentEventInvalid,  # nothing ringing
    (S.ON_CALL, RingTimeout): AgentEventInvalid,
    (S.ON_CALL, Decline): AgentEventInvalid,
    (S.ON_CALL, OfferCancelled): AgentEventInvalid,
    (S.ON_CALL, Hold): S.ON_HOLD,
    (S.ON_CALL, CallEnded): S.AFTER_CALL_WORK,
    (S.ON_CALL, SetWrapUp): S.ON_CALL,
    (S.ON_HOLD, SetNotReady): S.ON_HOLD,
    (S.ON_HOLD, Retrieve): S.ON_CALL,
    (S.ON_HOLD, Dial): S.ON_CALL,  # consult leg while the caller holds
    (S.ON_HOLD, CallEnded): S.AFTER_CALL_WORK,
    (S.ON_HOLD, SetWrapUp): S.ON_HOLD,
    (S.AFTER_CALL_WORK, SetNotReady): S.AFTER_CALL_WORK,
    (S.AFTER_CALL_WORK, Dial): S.ON_CALL,
    (S.AFTER_CALL_WORK, SetWrapUp): S.AFTER_CALL_WORK,
    (S.AFTER_CALL_WORK, EndWrapUp): S.READY,
    (S.AFTER_CALL_WORK, WrapUpTimeout): S.READY,
}


def build(state: AgentState, **kwargs: int) -> Agent:
    agent = Agent("a1", **kwargs)
    for i, event in enumerate(BUILD[state]):
        agent.apply(event, T0 + i)
    assert agent.state is state
    return agent


PAIRS = [(state, etype) for state in AgentState for etype in ALL_EVENT_TYPES]


@pytest.mark.parametrize(("state", "etype"), PAIRS,
                         ids=[f"{s.value}-{e.__name__}" for s, e in PAIRS])
def test_every_state_event_pair(state: AgentState, etype: type) -> None:
    agent = build(state)
    before = agent.snapshot()
    expected = EXPECTED.get((state, etype), IllegalAgentTransition)
    now = T0 + 100  # every timer is due by then
    if isinstance(expected, AgentState):
        record = agent.apply(CANONICAL[etype], now)
        assert (record.old, record.new, agent.state) == (state, expected, expected)
        assert record.at == now
    else:
        with pytest.raises(expected) as info:
            agent.apply(CANONICAL[etype], now)
        assert info.value.error_id.startswith("agent.")
        assert agent.snapshot() == before, "a refused event must change nothing"


def test_illegal_error_is_stable_and_actionable() -> None:
    agent = build(S.LOGGED_OUT)
    with pytest.raises(IllegalAgentTransition) as info:
        agent.apply(SetReady(), T0)
    assert info.value.error_id == "agent.illegal_transition"
    assert info.value.status == 409
    assert "set_ready" in info.value.message and "logged_out" in info.value.message


def run(agent: Agent, steps: list[tuple[float, AgentEvent]]) -> list[tuple[str, str, str]]:
    return [(r.event, r.old.value, r.new.value)
            for r in (agent.apply(event, T0 + t) for t, event in steps)]


def test_inbound_call_sequence_with_wrap_up_timer() -> None:
    agent = Agent("a1")
    seq = run(agent, [
        (0, Login()), (1, SetReady()), (5, Offer("c1", 15)), (8, Answer("c1")),
        (20, Hold("c1")), (30, Retrieve("c1")), (60, CallEnded("c1", 30)),
        (61, SetWrapUp("balance", "explained fees")),
    ])
    assert seq == [
        ("login", "logged_out", "not_ready"), ("set_ready", "not_ready", "ready"),
        ("offer", "ready", "reserved"), ("answer", "reserved", "on_call"),
        ("hold", "on_call", "on_hold"), ("retrieve", "on_hold", "on_call"),
        ("call_ended", "on_call", "after_call_work"),
        ("set_wrap_up", "after_call_work", "after_call_work"),
    ]
    assert agent.wrap_up_code == "balance" and agent.wrap_up_notes == "explained fees"
    assert agent.next_deadline == T0 + 90
    assert agent.due_event(T0 + 89) is None
    with pytest.raises(AgentTimerNotDue):
        agent.apply(WrapUpTimeout(), T0 + 89)
    due = agent.due_event(T0 + 90)
    assert isinstance(due, WrapUpTimeout)
    record = agent.apply(due, T0 + 90)
    assert (record.old, record.new) == (S.AFTER_CALL_WORK, S.READY)
    assert agent.idle_since == T0 + 90  # idle order restarts after wrap-up


def test_ring_no_answer_goes_not_ready_missed() -> None:
    agent = build(S.READY)
    agent.apply(Offer("c9", 15), T0 + 10)
    assert agent.ringing_call_id == "c9" and agent.next_deadline == T0 + 25
    with pytest.raises(AgentTimerNotDue):
        agent.apply(RingTimeout("c9"), T0 + 24)
    event = agent.due_event(T0 + 25)
    assert event == RingTimeout("c9")
    record = agent.apply(event, T0 + 25)
    assert (record.event, record.new, record.reason) == ("ring_timeout", S.NOT_READY, "missed")
    assert agent.call_ids == () and agent.ringing_call_id is None


def test_decline_and_cancelled_offer() -> None:
    agent = build(S.READY)
    idle = agent.idle_since
    agent.apply(Offer("c1", 15), T0 + 10)
    agent.apply(OfferCancelled("c1"), T0 + 11)
    assert agent.state is S.READY and agent.idle_since == idle  # keeps its place in line
    agent.apply(Offer("c2", 15), T0 + 12)
    agent.apply(Decline("c2"), T0 + 13)
    assert (agent.state, agent.reason) == (S.NOT_READY, "declined")


def test_not_ready_requested_while_busy_applies_after_wrap_up() -> None:
    agent = build(S.ON_CALL)
    seq = run(agent, [(50, SetNotReady("break")), (60, CallEnded("c1", None)), (70, EndWrapUp())])
    assert seq == [("set_not_ready", "on_call", "on_call"),
                   ("call_ended", "on_call", "after_call_work"),
                   ("end_wrap_up", "after_call_work", "not_ready")]
    assert agent.reason == "break" and agent.pending_reason is None
    assert agent.next_deadline is None


def test_manual_wrap_up_has_no_timer_and_zero_wrap_up_skips_it() -> None:
    agent = build(S.ON_CALL)
    agent.apply(CallEnded("c1", None), T0 + 50)
    assert agent.due_event(T0 + 10_000) is None
    agent2 = build(S.ON_CALL)
    record = agent2.apply(CallEnded("c1", 0), T0 + 50)
    assert (record.new, agent2.idle_since) == (S.READY, T0 + 50)


def test_not_ready_pending_while_ringing_then_cancelled() -> None:
    agent = build(S.RESERVED)
    agent.apply(SetNotReady("meeting"), T0 + 20)
    agent.apply(OfferCancelled("c1"), T0 + 21)
    assert (agent.state, agent.reason) == (S.NOT_READY, "meeting")


def test_capacity_two_takes_a_second_offer_while_on_call() -> None:
    agent = build(S.ON_CALL, capacity=2)
    assert agent.can_take_offer and agent.free_slots == 1
    seq = run(agent, [(20, Offer("chat1", 30)), (21, Answer("chat1"))])
    assert seq == [("offer", "on_call", "on_call"), ("answer", "on_call", "on_call")]
    assert agent.call_ids == ("c1", "chat1") and not agent.can_take_offer
    with pytest.raises(AgentCapacityExceeded) as info:
        agent.apply(Offer("c3", 10), T0 + 22)
    assert info.value.error_id == "agent.capacity_exceeded"
    seq = run(agent, [(30, CallEnded("c1", 10)), (40, CallEnded("chat1", 10))])
    assert seq == [("call_ended", "on_call", "on_call"),
                   ("call_ended", "on_call", "after_call_work")]


def test_capacity_two_missed_second_offer_keeps_talking() -> None:
    agent = build(S.ON_CALL, capacity=2)
    agent.apply(Offer("chat1", 5), T0 + 20)
    record = agent.apply(RingTimeout("chat1"), T0 + 25)
    assert record.new is S.ON_CALL and agent.pending_reason == "missed"
    agent.apply(CallEnded("c1", 0), T0 + 30)
    assert (agent.state, agent.reason) == (S.NOT_READY, "missed")


def test_consult_from_hold_then_drop() -> None:
    agent = build(S.ON_HOLD)
    seq = run(agent, [(20, Dial("c1")), (30, CallEnded("c1", 5))])
    assert seq == [("dial", "on_hold", "on_call"), ("call_ended", "on_call", "after_call_work")]


def test_outbound_dial_and_hold_with_two_calls() -> None:
    agent = build(S.NOT_READY, capacity=2)
    run(agent, [(1, Dial("out1"))])
    assert agent.state is S.ON_CALL and agent.call_ids == ("out1",)
    run(agent, [(2, Hold("out1")), (3, Dial("consult1"))])
    assert agent.state is S.ON_CALL and agent.held_call_ids == {"out1"}
    run(agent, [(4, CallEnded("consult1", 5))])
    assert agent.state is S.ON_HOLD  # only the held call remains
    run(agent, [(5, Retrieve("out1"))])
    assert agent.state is S.ON_CALL


@pytest.mark.parametrize(
    ("setup", "event"),
    [
        (S.READY, SetNotReady("")),
        (S.READY, Offer("c2", 0)),
        (S.RESERVED, Answer("other")),
        (S.ON_CALL, Hold("other")),
        (S.ON_HOLD, Retrieve("other")),
        (S.ON_CALL, CallEnded("c1", -1)),
        (S.AFTER_CALL_WORK, SetWrapUp("")),
    ],
)
def test_invalid_event_details_change_nothing(setup: AgentState, event: AgentEvent) -> None:
    agent = build(setup)
    before = agent.snapshot()
    with pytest.raises(AgentEventInvalid):
        agent.apply(event, T0 + 100)
    assert agent.snapshot() == before


def test_capacity_must_be_positive() -> None:
    with pytest.raises(AgentEventInvalid):
        Agent("a1", capacity=0)


def test_transition_is_logged_old_to_new(caplog: pytest.LogCaptureFixture) -> None:
    agent = Agent("a7")
    with caplog.at_level(logging.INFO, logger="site_node.agent"):
        agent.apply(Login(ready=True), T0)
    assert any("logged_out -> ready" in r.getMessage() for r in caplog.records)


def test_record_to_dict_and_state_counts() -> None:
    agents = [build(s) for s in (S.READY, S.READY, S.ON_CALL)]
    counts = agents_by_state(agents)
    assert counts["ready"] == 2 and counts["on_call"] == 1 and counts["logged_out"] == 0
    record = Agent("a2").apply(Login(), T0)
    assert record.to_dict() == {"agent_id": "a2", "event": "login", "old": "logged_out",
                                "new": "not_ready", "at": T0, "reason": "login",
                                "call_ids": [], "call_id": None}
