"""Call state machine: every state x event pair, transfer sequences, CDR and snapshots."""

from __future__ import annotations

import json
import logging

import pytest

from site_node.call import (
    CDR_KEYS,
    AddAction,
    Answer,
    BlindTransfer,
    Call,
    CallData,
    CallEvent,
    CallEventInvalid,
    CallRecordInvalid,
    CallState,
    Conference,
    ConsultCancel,
    ConsultComplete,
    ConsultStart,
    Direction,
    End,
    EndReason,
    Enqueue,
    Hangup,
    Hold,
    IllegalCallTransition,
    LeaveConference,
    OfferFailed,
    OfferToAgent,
    OutboundDial,
    Requeue,
    Retrieve,
    ReturnFromIvr,
    SensitiveDataRefused,
    SetData,
    StartIvr,
    StartTransfer,
    TemporaryIvr,
    TransferCompleted,
    TransferFailed,
    TransferToIvr,
    WrapUpEnded,
    from_record,
    mask_account,
    to_cdr,
    to_record,
)

T0 = 1_700_000_000.0
S = CallState
R = EndReason

BUILD: dict[CallState, list[CallEvent]] = {
    S.NEW: [],
    S.IN_IVR: [StartIvr("retail", 1)],
    S.QUEUED: [StartIvr("retail", 1), Enqueue("retail", "retail", 0)],
    S.OFFERED: [StartIvr("retail", 1), Enqueue("retail", "retail", 0), OfferToAgent("a1")],
}
BUILD[S.CONNECTED] = [*BUILD[S.OFFERED], Answer()]
BUILD[S.HELD] = [*BUILD[S.CONNECTED], Hold()]
BUILD[S.CONSULTING] = [*BUILD[S.CONNECTED], ConsultStart("a2")]
BUILD[S.IN_IVR_TEMPORARY] = [*BUILD[S.CONNECTED], TemporaryIvr("pin_verify", 1)]
BUILD[S.TRANSFERRING] = [*BUILD[S.CONNECTED], StartTransfer("number:95589")]
BUILD[S.ENDED] = [*BUILD[S.CONNECTED], Hangup()]

CANONICAL: list[CallEvent] = [
    StartIvr("retail", 2), Enqueue("q", "s", 1), Requeue("q2", "s2"), OfferToAgent("a9"),
    OfferFailed(), Answer(), Hold(), Retrieve(), ConsultStart("a2"), ConsultComplete(),
    ConsultCancel(), Conference(), LeaveConference("a1"), TransferToIvr("retail", 2),
    TemporaryIvr("pin_verify", 1), ReturnFromIvr(), BlindTransfer("cards", "cards"),
    OutboundDial("a1"), StartTransfer("site:b"), TransferCompleted(), TransferFailed(),
    SetData("attributes", "topic", "fees"), AddAction("sent SMS"), Hangup(), End(R.ERROR),
    WrapUpEnded(),
]

LIVE = [s for s in CallState if s is not S.ENDED]
Outcome = CallState | type[Exception]
EXPECTED: dict[tuple[CallState, type], Outcome] = {
    (S.NEW, StartIvr): S.IN_IVR,
    (S.NEW, Enqueue): S.QUEUED,
    (S.NEW, OutboundDial): S.OFFERED,
    (S.NEW, StartTransfer): S.TRANSFERRING,
    (S.IN_IVR, Enqueue): S.QUEUED,
    (S.IN_IVR, StartTransfer): S.TRANSFERRING,
    (S.QUEUED, Requeue): S.QUEUED,
    (S.QUEUED, OfferToAgent): S.OFFERED,
    (S.QUEUED, StartTransfer): S.TRANSFERRING,
    (S.OFFERED, Answer): S.CONNECTED,
    (S.OFFERED, OfferFailed): S.QUEUED,
    (S.CONNECTED, Hold): S.HELD,
    (S.CONNECTED, ConsultStart): S.CONSULTING,
    (S.CONNECTED, TransferToIvr): S.IN_IVR,
    (S.CONNECTED, TemporaryIvr): S.IN_IVR_TEMPORARY,
    (S.CONNECTED, BlindTransfer): S.QUEUED,
    (S.CONNECTED, StartTransfer): S.TRANSFERRING,
    (S.CONNECTED, LeaveConference): CallEventInvalid,  # no conference on this call
    (S.HELD, Retrieve): S.CONNECTED,
    (S.HELD, ConsultStart): S.CONSULTING,
    (S.HELD, TransferToIvr): S.IN_IVR,
    (S.HELD, TemporaryIvr): S.IN_IVR_TEMPORARY,
    (S.HELD, BlindTransfer): S.QUEUED,
    (S.HELD, StartTransfer): S.TRANSFERRING,
    (S.HELD, LeaveConference): CallEventInvalid,
    (S.CONSULTING, ConsultComplete): S.CONNECTED,
    (S.CONSULTING, ConsultCancel): S.CONNECTED,
    (S.CONSULTING, Conference): S.CONNECTED,
    (S.IN_IVR_TEMPORARY, ReturnFromIvr): S.CONNECTED,
    (S.TRANSFERRING, TransferCompleted): S.ENDED,
    (S.TRANSFERRING, TransferFailed): S.CONNECTED,
    (S.ENDED, WrapUpEnded): S.ENDED,
}
for _state in LIVE:
    EXPECTED[(_state, SetData)] = _state
    EXPECTED[(_state, AddAction)] = _state
    EXPECTED[(_state, Hangup)] = S.ENDED
    EXPECTED[(_state, End)] = S.ENDED


def new_call(**kwargs: object) -> Call:
    return Call("call-1", site="site-a", caller_number="13800000000", dialled_number="95588",
                now=T0, **kwargs)  # type: ignore[arg-type]


def build(state: CallState) -> Call:
    call = new_call()
    for i, event in enumerate(BUILD[state]):
        call.apply(event, T0 + 10 * (i + 1))
    assert call.state is state
    return call


PAIRS = [(state, event) for state in CallState for event in CANONICAL]


@pytest.mark.parametrize(("state", "event"), PAIRS,
                         ids=[f"{s.value}-{type(e).__name__}" for s, e in PAIRS])
def test_every_state_event_pair(state: CallState, event: CallEvent) -> None:
    call = build(state)
    before = to_record(call)
    expected = EXPECTED.get((state, type(event)), IllegalCallTransition)
    now = T0 + 1000
    if isinstance(expected, CallState):
        record = call.apply(event, now)
        assert (record.old, record.new, call.state) == (state, expected, expected)
    else:
        with pytest.raises(expected) as info:
            call.apply(event, now)
        assert info.value.error_id.startswith("call.")  # type: ignore[attr-defined]
        assert to_record(call) == before, "a refused event must change nothing"


def seq(call: Call, steps: list[tuple[float, CallEvent]]) -> list[tuple[str, str, str]]:
    return [(r.event, r.old.value, r.new.value)
            for r in (call.apply(e, T0 + t) for t, e in steps)]


def test_c5a_ivr_to_agent_with_ring_no_answer_and_cdr() -> None:
    call = new_call(priority=2)
    events = seq(call, [
        (1, StartIvr("retail", 3)), (30, Enqueue("retail", "retail", 2)),
        (40, OfferToAgent("a1")), (55, OfferFailed()), (60, OfferToAgent("a2")),
        (64, Answer()), (100, Hold()), (130, Retrieve()), (200, Hangup()), (230, WrapUpEnded()),
    ])
    assert events == [
        ("start_ivr", "new", "in_ivr"), ("enqueue", "in_ivr", "queued"),
        ("offer_to_agent", "queued", "offered"), ("offer_failed", "offered", "queued"),
        ("offer_to_agent", "queued", "offered"), ("answer", "offered", "connected"),
        ("hold", "connected", "held"), ("retrieve", "held", "connected"),
        ("hangup", "connected", "ended"), ("wrap_up_ended", "ended", "ended"),
    ]
    cdr = to_cdr(call)
    assert tuple(cdr) == CDR_KEYS
    assert cdr == {
        "call_id": "call-1", "site": "site-a", "queue": "retail", "skill": "retail",
        "priority": 2, "caller_number": "13800000000", "dialled_number": "95588",
        "customer_id": None, "agent_id": "a2", "flow_id": "retail", "flow_version": 3,
        "original_arrival_at": T0, "arrival_at": T0, "ivr_start_at": T0 + 1,
        "ivr_end_at": T0 + 30, "queued_at": T0 + 30, "offered_at": T0 + 60,
        "answered_at": T0 + 64, "ended_at": T0 + 200, "wrap_up_end_at": T0 + 230,
        "hold_total_s": 30.0, "transfers": 0, "failovers": 0, "callback_requested": False,
        "end_reason": "answered_completed", "resumed_from": None,
        "first_site": "site-a", "failover_gap_s": 0.0, "ivr_path": None,
    }


def test_cdr_types() -> None:
    cdr = to_cdr(build(S.ENDED))
    for key in CDR_KEYS:
        value = cdr[key]
        if key.endswith("_at"):
            assert value is None or isinstance(value, float), key
    assert isinstance(cdr["transfers"], int) and isinstance(cdr["failovers"], int)
    assert isinstance(cdr["callback_requested"], bool) and isinstance(cdr["end_reason"], str)
    assert isinstance(cdr["hold_total_s"], float)
    json.dumps(cdr)


def test_c5b_permanent_transfer_to_ivr() -> None:
    call = build(S.CONNECTED)
    assert seq(call, [(100, TransferToIvr("surveys", 1)), (150, Hangup())]) == [
        ("transfer_to_ivr", "connected", "in_ivr"), ("hangup", "in_ivr", "ended")]
    assert call.transfers == 1 and call.end_reason is R.ANSWERED_COMPLETED
    assert call.ivr_end_at == T0 + 20  # the first IVR session stays in the CDR
    assert call.data.transfer_history[-1]["kind"] == "to_ivr"


def test_c5c_temporary_ivr_returns_to_the_same_agent() -> None:
    call = build(S.CONNECTED)
    call.apply(SetData("call", "customer_id", "cust-9"), T0 + 90)
    assert seq(call, [(100, TemporaryIvr("pin_verify", 1)),
                      (110, SetData("call", "verified", True)), (120, ReturnFromIvr())]) == [
        ("temporary_ivr", "connected", "in_ivr_temporary"),
        ("set_data", "in_ivr_temporary", "in_ivr_temporary"),
        ("return_from_ivr", "in_ivr_temporary", "connected")]
    assert call.agent_id == "a1" and call.data.verified is True and call.transfers == 0
    assert call.data.customer_id == "cust-9"


def test_c5d_consult_complete_cancel_and_hold_time() -> None:
    call = build(S.CONNECTED)
    assert seq(call, [(100, ConsultStart("a2")), (130, ConsultCancel()),
                      (140, ConsultStart("a3")), (150, ConsultComplete()), (200, Hangup())]) == [
        ("consult_start", "connected", "consulting"),
        ("consult_cancel", "consulting", "connected"),
        ("consult_start", "connected", "consulting"),
        ("consult_complete", "consulting", "connected"), ("hangup", "connected", "ended")]
    assert call.agent_id == "a3" and call.transfers == 1 and call.hold_total_s == 40.0
    kinds = [h["kind"] for h in call.data.transfer_history]
    assert kinds == ["consult", "consult_cancelled", "consult", "consult_transfer"]


def test_consult_from_held_and_caller_hangs_up_while_consulting() -> None:
    call = build(S.HELD)  # held since T0 + 50
    seq(call, [(60, ConsultStart("a2")), (80, Hangup())])
    assert call.hold_total_s == 30.0 and call.end_reason is R.ANSWERED_COMPLETED


def test_conference_and_handover() -> None:
    call = build(S.CONNECTED)
    seq(call, [(100, ConsultStart("a2")), (110, Conference())])
    assert call.conference_agent_ids == ("a1", "a2")
    call.apply(LeaveConference("a1"), T0 + 150)
    assert call.agent_id == "a2" and call.transfers == 1 and call.conference_agent_ids == ()
    with pytest.raises(CallEventInvalid):
        call.apply(ConsultStart("a2"), T0 + 160)


def test_c5e_blind_transfer_keeps_data_and_arrival() -> None:
    call = build(S.CONNECTED)
    call.apply(AddAction("checked balance"), T0 + 60)
    seq(call, [(70, BlindTransfer("cards", "cards", 3)), (80, OfferToAgent("a5")), (81, Answer())])
    assert (call.queue, call.skill, call.priority, call.agent_id) == ("cards", "cards", 3, "a5")
    assert call.queued_at == T0 + 20 and call.answered_at == T0 + 40
    assert call.data.actions == ["checked balance"] and call.transfers == 1


def test_c5f_outbound_dial() -> None:
    call = new_call(direction=Direction.OUTBOUND)
    assert seq(call, [(1, OutboundDial("a1")), (9, Answer()), (60, Hangup())]) == [
        ("outbound_dial", "new", "offered"), ("answer", "offered", "connected"),
        ("hangup", "connected", "ended")]
    assert call.agent_id == "a1" and call.offered_at == T0 + 1
    unanswered = new_call(direction=Direction.OUTBOUND)
    unanswered.apply(OutboundDial("a1"), T0)
    with pytest.raises(CallEventInvalid):
        unanswered.apply(OfferFailed(), T0 + 30)
    unanswered.apply(Hangup(), T0 + 30)
    assert unanswered.end_reason is R.REJECTED


def test_transfer_out_and_failed_transfer() -> None:
    call = build(S.QUEUED)
    seq(call, [(50, StartTransfer("site:b")), (51, TransferFailed())])
    assert call.state is S.QUEUED and call.transfer_target is None
    seq(call, [(60, StartTransfer("site:b")), (61, TransferCompleted())])
    assert call.end_reason is R.TRANSFERRED_OUT and call.transfers == 1


@pytest.mark.parametrize(("state", "reason"), [
    (S.NEW, R.ABANDONED_IN_IVR), (S.IN_IVR, R.ABANDONED_IN_IVR),
    (S.QUEUED, R.ABANDONED_IN_QUEUE), (S.OFFERED, R.ABANDONED_IN_QUEUE),
    (S.CONNECTED, R.ANSWERED_COMPLETED), (S.HELD, R.ANSWERED_COMPLETED),
    (S.CONSULTING, R.ANSWERED_COMPLETED), (S.IN_IVR_TEMPORARY, R.ANSWERED_COMPLETED),
    (S.TRANSFERRING, R.ANSWERED_COMPLETED),
])
def test_hangup_reason_is_derived_from_state(state: CallState, reason: EndReason) -> None:
    call = build(state)
    record = call.apply(Hangup(), T0 + 500)
    assert record.end_reason is reason and to_cdr(call)["end_reason"] == reason.value


ALLOWED_END: dict[EndReason, set[CallState]] = {
    R.ANSWERED_COMPLETED: {S.CONNECTED, S.HELD, S.CONSULTING, S.IN_IVR_TEMPORARY, S.TRANSFERRING},
    R.ABANDONED_IN_IVR: {S.NEW, S.IN_IVR},
    R.NEVER_JOINED: {S.NEW},
    R.ABANDONED_IN_QUEUE: {S.QUEUED, S.OFFERED},
    R.VOICEMAIL: {S.IN_IVR, S.QUEUED},
    R.CALLBACK_REQUESTED: {S.IN_IVR, S.QUEUED},
    R.TRANSFERRED_OUT: {S.TRANSFERRING},
    R.FAILED_OVER: set(LIVE),
    R.REJECTED: {S.NEW, S.IN_IVR, S.QUEUED, S.OFFERED},
    R.ERROR: set(LIVE),
}
END_PAIRS = [(s, r) for s in LIVE for r in EndReason]


@pytest.mark.parametrize(("state", "reason"), END_PAIRS,
                         ids=[f"{s.value}-{r.value}" for s, r in END_PAIRS])
def test_explicit_end_reason_per_state(state: CallState, reason: EndReason) -> None:
    call = build(state)
    before = to_record(call)
    if state in ALLOWED_END[reason]:
        call.apply(End(reason), T0 + 500)
        assert call.end_reason is reason and call.ended_at == T0 + 500
        assert call.callback_requested is (reason is R.CALLBACK_REQUESTED)
    else:
        with pytest.raises(CallEventInvalid):
            call.apply(End(reason), T0 + 500)
        assert to_record(call) == before


def test_sensitive_data_is_refused_and_accounts_must_be_masked() -> None:
    call = build(S.IN_IVR)
    before = to_record(call)
    for section, key, value in [("collected", "pin", "123456"),
                                ("attributes", "Password", "x"),
                                ("attributes", "card_pin_try", "1"),
                                ("call", "masked_account", "6222020200112233"),
                                ("attributes", "nested", {"a": 1}),
                                ("nowhere", "k", "v")]:
        with pytest.raises(SensitiveDataRefused) as info:
            call.apply(SetData(section, key, value), T0 + 30)
        assert info.value.error_id == "call.sensitive_data"
    assert to_record(call) == before
    call.apply(SetData("call", "masked_account", mask_account("6222020200112233")), T0 + 31)
    assert call.data.masked_account == "************2233"


def test_record_round_trip_is_json_safe_and_exact() -> None:
    call = build(S.HELD)
    call.apply(SetData("collected", "customer_number", "12345678"), T0 + 60)
    record = json.loads(json.dumps(to_record(call)))
    again = from_record(record)
    assert to_record(again) == to_record(call)
    assert again.state is S.HELD and again.hold_started_at == T0 + 50


def test_bad_records_are_refused() -> None:
    with pytest.raises(CallRecordInvalid):
        from_record({"call_id": "x"})
    with pytest.raises(CallRecordInvalid):
        from_record(to_record(build(S.NEW)) | {"state": "flying"})
    with pytest.raises(SensitiveDataRefused):
        CallData.from_dict({"collected": {"pin": "1"}})


def test_wrap_up_end_only_once_and_only_for_answered_calls() -> None:
    call = build(S.ENDED)
    call.apply(WrapUpEnded(), T0 + 400)
    with pytest.raises(CallEventInvalid):
        call.apply(WrapUpEnded(), T0 + 401)
    abandoned = build(S.QUEUED)
    abandoned.apply(Hangup(), T0 + 50)
    with pytest.raises(CallEventInvalid):
        abandoned.apply(WrapUpEnded(), T0 + 60)


def test_state_change_logged_old_to_new(caplog: pytest.LogCaptureFixture) -> None:
    call = new_call()
    with caplog.at_level(logging.INFO, logger="site_node.call"):
        call.apply(StartIvr("retail", 1), T0 + 1)
    assert any("new -> in_ivr" in r.getMessage() for r in caplog.records)


def test_transition_record_dict() -> None:
    record = build(S.QUEUED).apply(OfferToAgent("a3"), T0 + 99)
    assert record.to_dict() == {"call_id": "call-1", "event": "offer_to_agent", "old": "queued",
                                "new": "offered", "at": T0 + 99, "agent_id": None,
                                "queue": "retail", "end_reason": None}
