"""Call detail records (upsert by call id) and call events."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from site_node.storage import CallDetailRecord, Storage, UnknownField

T0 = 1_767_225_600.125  # epoch seconds with a fraction: must survive the round trip


def full_cdr(call_id: str = "call-1", site: str = "branch-north") -> CallDetailRecord:
    return CallDetailRecord(
        call_id=call_id,
        site=site,
        queue="vip",
        skill="vip",
        priority=10,
        caller_number="+4917012345678",
        dialled_number="+498001234",
        customer_id="cust-00001",
        agent_id="north-04",
        flow_id="main",
        flow_version=3,
        original_arrival_at=T0 - 30.5,
        arrival_at=T0,
        ivr_start_at=T0 + 0.25,
        ivr_end_at=T0 + 20.0,
        queued_at=T0 + 20.0,
        offered_at=T0 + 25.75,
        answered_at=T0 + 28.5,
        ended_at=T0 + 200.0,
        wrap_up_end_at=T0 + 230.0,
        hold_total_s=12.5,
        transfers=1,
        failovers=1,
        callback_requested=True,
        end_reason="answered",
    )


async def test_cdr_round_trip_keeps_every_column(storage: Storage) -> None:
    record = full_cdr()
    await storage.calls.upsert_call(record)

    assert await storage.calls.get_call("call-1") == record
    assert await storage.calls.get_call("nope") is None


async def test_upsert_replaces_the_row_of_the_same_call(storage: Storage) -> None:
    await storage.calls.upsert_call(
        {"call_id": "call-1", "site": "branch-north", "arrival_at": T0, "queued_at": T0 + 5}
    )
    final = dataclasses.replace(full_cdr(), end_reason="failed_over", answered_at=None)
    await storage.calls.upsert_call(final)

    assert await storage.calls.get_call("call-1") == final
    assert await storage.calls.count_calls() == 1


async def test_calls_between_filters_by_site_and_arrival(storage: Storage) -> None:
    records = [
        dataclasses.replace(full_cdr(f"c{i}", site), arrival_at=T0 + i)
        for i, site in enumerate(["branch-north", "branch-south", "branch-north", "branch-north"])
    ]
    await storage.calls.upsert_calls(reversed(records))

    north = await storage.calls.calls_between(T0 + 0.5, T0 + 3.5, site="branch-north")
    every = await storage.calls.calls_between(T0, T0 + 10)

    assert [r.call_id for r in north] == ["c2", "c3"]
    assert [r.call_id for r in every] == ["c0", "c1", "c2", "c3"]
    assert await storage.calls.count_calls(site="branch-south") == 1


async def test_unknown_cdr_column_is_refused(storage: Storage) -> None:
    with pytest.raises(UnknownField) as caught:
        await storage.calls.upsert_call({"call_id": "c", "site": "s", "mood": "happy"})
    assert caught.value.error_id == "storage.unknown_field"
    assert await storage.calls.count_calls() == 0


async def test_events_are_numbered_in_order(storage: Storage) -> None:
    first = await storage.calls.append_event("call-1", "arrived", T0, {"dnis": "+498001234"})
    rest = await storage.calls.append_events(
        "call-1", [("ivr_started", T0 + 1, {"flow": "main", "version": 3}), ("queued", T0 + 2, None)]
    )
    other = await storage.calls.append_event("call-2", "arrived", T0)

    events = await storage.calls.events_for_call("call-1")
    assert (first, rest, other) == (1, [2, 3], 1)
    assert [(e.seq, e.type, e.at) for e in events] == [
        (1, "arrived", T0),
        (2, "ivr_started", T0 + 1),
        (3, "queued", T0 + 2),
    ]
    assert events[1].data == {"flow": "main", "version": 3}
    assert events[2].data == {}


async def test_concurrent_appends_get_distinct_sequence_numbers(storage: Storage) -> None:
    seqs = await asyncio.gather(*(storage.calls.append_event("call-1", f"e{i}", T0 + i) for i in range(12)))

    assert sorted(seqs) == list(range(1, 13))
    stored = await storage.calls.events_for_call("call-1")
    assert [e.seq for e in stored] == list(range(1, 13))
