"""The routing record is derived from the call (one state machine), and a call arriving at a
site is rebuilt from its record in one place."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cluster.callrecords import TALKING_STATES, CallRecord, RecordState
from cluster.etcd import KeyValue
from site_node.call import (
    Answer,
    Call,
    CallState,
    ConsultStart,
    End,
    EndReason,
    Enqueue,
    Hold,
    OfferToAgent,
    ResumedAfterFailover,
    SetData,
    StartIvr,
    StartTransfer,
    TemporaryIvr,
    call_from_record,
    record_state,
    record_view,
    to_cdr,
)

T0 = 1_700_000_000.0
S = CallState


def _call() -> Call:
    return Call("c-1", site="north", caller_number="+861", dialled_number="95588", now=T0, priority=2)


def _in(state: CallState) -> Call:
    call = _call()
    steps = {
        S.NEW: [],
        S.IN_IVR: [StartIvr("retail", 1)],
        S.QUEUED: [StartIvr("retail", 1), Enqueue("retail", "retail", 2)],
        S.OFFERED: [Enqueue("retail", "retail", 2), OfferToAgent("a-1")],
        S.CONNECTED: [Enqueue("retail", "retail", 2), OfferToAgent("a-1"), Answer()],
        S.HELD: [Enqueue("retail", "retail", 2), OfferToAgent("a-1"), Answer(), Hold()],
        S.CONSULTING: [Enqueue("retail", "retail", 2), OfferToAgent("a-1"), Answer(), ConsultStart("a-2")],
        S.IN_IVR_TEMPORARY: [Enqueue("retail", "retail", 2), OfferToAgent("a-1"), Answer(), TemporaryIvr("pin", 1)],
        S.TRANSFERRING: [StartIvr("retail", 1), StartTransfer("number:+8610")],
        S.ENDED: [StartIvr("retail", 1), End(EndReason.ABANDONED_IN_IVR)],
    }[state]
    for i, event in enumerate(steps):
        call.apply(event, T0 + i + 1)
    assert call.state is state
    return call


EXPECTED = {
    S.NEW: (RecordState.ROUTED, None),
    S.IN_IVR: (RecordState.IVR, None),
    S.QUEUED: (RecordState.QUEUED, None),
    S.OFFERED: (RecordState.OFFERED, "a-1"),
    S.CONNECTED: (RecordState.CONNECTED, "a-1"),
    S.HELD: (RecordState.HELD, "a-1"),
    S.CONSULTING: (RecordState.CONSULTING, "a-1"),
    S.IN_IVR_TEMPORARY: (RecordState.TEMPORARY_IVR, "a-1"),
    S.TRANSFERRING: (RecordState.TRANSFERRING, None),
    S.ENDED: (RecordState.ENDED, None),
}


@pytest.mark.parametrize("state", list(CallState))
def test_record_state_and_agent_are_derived_for_every_call_state(state: CallState) -> None:
    call = _in(state)
    view = record_view(call, T0 + 50)
    assert (view["state"], view["agent_id"]) == EXPECTED[state]
    assert record_state(state) is EXPECTED[state][0]
    assert view["priority"] == 2


def test_a_pin_check_counts_as_talking_so_failover_returns_the_caller_to_the_agent() -> None:
    assert record_state(S.IN_IVR_TEMPORARY) in TALKING_STATES
    assert record_state(S.IN_IVR) not in TALKING_STATES


def _record(**changes: object) -> CallRecord:
    base = CallRecord("c-1", "south", RecordState.ROUTED, "retail", 3, T0 - 100, caller="+861", dialled="95588")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_first_arrival_keeps_id_caller_priority_and_arrival() -> None:
    call = call_from_record(_record(), site="south", now=T0)
    assert (call.call_id, call.site, call.state, call.priority) == ("c-1", "south", S.NEW, 3)
    assert call.original_arrival_at == T0 - 100 and call.arrival_at == T0
    assert call.resumed_from is None and call.failovers == 0


def test_a_moved_call_resumes_where_it_was_with_its_data() -> None:
    at_north = _in(S.IN_IVR_TEMPORARY)
    at_north.apply(SetData("call", "customer_id", "cust-9"), T0 + 9)
    record = _record(state=RecordState.CONNECTED, agent_id="a-1", data=at_north.data.to_dict())
    moved = record.moved_to("south", fencing_token=7, routed_by="central-1")
    record = CallRecord.from_kv(KeyValue("k", moved.to_json().encode(), 1, 5, 1, 0))
    call = call_from_record(record, site="south", now=T0 + 60)
    assert call.resumed_from == "connected" and call.failovers == 1
    assert call.data.customer_id == "cust-9"
    assert call.original_arrival_at == T0 - 100


def test_a_moved_call_carries_its_whole_history_into_the_cdr_where_it_ends() -> None:
    """The CDR of the site where a failed-over call ends describes the whole call: first
    arrival, IVR, first queue entry and first answer, hold so far; the time it spent between
    sites while talking is its failover gap, not talk."""
    north = _in(S.HELD)  # queued at T0 + 1, offered + 2, answered + 3, held + 4
    record = replace(_record(site="north"), **record_view(north, T0 + 10))
    moved = record.moved_to("south", fencing_token=7, routed_by="central-1", at=T0 + 12.5)
    assert moved.history["moves"] == [{"at": T0 + 12.5, "from": "north", "to": "south", "why": "failover"}]
    south = call_from_record(CallRecord.from_kv(KeyValue("k", moved.to_json().encode(), 1, 5, 1, 0)),
                             site="south", now=T0 + 14)
    assert (south.first_site, south.arrival_at, south.queued_at, south.answered_at) == ("north", T0, T0 + 1, T0 + 3)
    assert south.hold_total_s == 6.0  # held from T0 + 4 until the last record write at T0 + 10
    for event in (Enqueue("retail", "retail", 2), OfferToAgent("a-1"), Answer(), ResumedAfterFailover(T0 + 12.5)):
        south.apply(event, T0 + 15)
    assert south.answered_at == T0 + 3 and south.failover_gap_s == 2.5
    south.apply(End(EndReason.ANSWERED_COMPLETED), T0 + 40)
    cdr = to_cdr(south)
    assert (cdr["site"], cdr["first_site"], cdr["arrival_at"], cdr["queued_at"]) == ("south", "north", T0, T0 + 1)
    assert (cdr["answered_at"], cdr["failover_gap_s"], cdr["failovers"]) == (T0 + 3, 2.5, 1)
