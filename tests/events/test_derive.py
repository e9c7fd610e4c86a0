"""The pure part of the event stream: which etcd changes are events, their ids, filters, and
every derived document valid against the published JSON Schemas (central/events/schemas)."""

from __future__ import annotations

from dataclasses import replace

import jsonschema

from central.events.derive import (
    EVENT_TYPES,
    SiteView,
    call_changed,
    call_ended,
    matches,
    site_changed,
    workorder_event,
)
from central.events.schemas import data_schema_of, load
from cluster.callrecords import CallRecord, RecordState


def _record(state: RecordState, rev: int, **kw: object) -> CallRecord:
    base = CallRecord("c1", "branch-north", state, "retail", 5, 100.0, caller="+8613800000000", dialled="95589",
                      queue="retail", mod_revision=rev, data={"account": "**** 1234", "pin_ok": True})  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def _valid(event_doc: dict[str, object]) -> None:
    jsonschema.validate(event_doc, load("envelope"))
    jsonschema.validate(event_doc["data"], data_schema_of(str(event_doc["type"])))


def test_a_call_makes_one_event_per_state_site_agent_or_queue_change() -> None:
    routed = _record(RecordState.ROUTED, 10)
    queued = _record(RecordState.QUEUED, 11)
    queued_again = replace(queued, history={"queued_at": 101.0}, mod_revision=12)  # history only: no event
    talking = replace(queued, state=RecordState.CONNECTED, agent_id="north-04", mod_revision=13)
    moved = talking.moved_to("branch-south", fencing_token=3, routed_by="central-2", at=120.0)
    moved = replace(moved, mod_revision=14)
    steps = [(None, routed), (routed, queued), (queued, queued_again), (queued_again, talking), (talking, moved)]
    events = [e for before, after in steps if (e := call_changed(before, after, 1.0)) is not None]
    assert [(e.event_id, e.type, e.site) for e in events] == [
        ("call:c1:10", "call.routed", "branch-north"),
        ("call:c1:11", "call.queued", "branch-north"),
        ("call:c1:13", "call.connected", "branch-north"),
        ("call:c1:14", "call.moving", "branch-south"),
    ]
    ended = call_ended(moved, "c1", 15, 2.0)
    assert (ended.event_id, ended.type, ended.data["state"]) == ("call:c1:15", "call.ended", "ended")
    for e in [*events, ended, call_ended(None, "c2", 16, 2.0)]:
        _valid(e.document())
        assert "data" not in e.data and "account" not in str(e.data)  # attached data never leaves


def test_site_membership_changes_are_agent_queue_and_site_events() -> None:
    view = SiteView()
    one = {"url": "http://n", "agents": {"a1": {"state": "ready", "reason": None, "call_id": None}},
           "queues": {"retail": {"skill": "retail", "waiting": 0, "staffed": 1, "ready": 1, "longest_wait_s": 0.0,
                                 "service_level": None}}}  # fmt: skip
    two = {**one, "agents": {"a1": {"state": "busy", "reason": None, "call_id": "c1"},
                             "a2": {"state": "not_ready", "reason": "lunch", "call_id": None}},
           "queues": {"retail": {**one["queues"]["retail"], "waiting": 1, "ready": 0}}}  # type: ignore[index]  # fmt: skip
    same_again = {**two, "queues": {"retail": {**two["queues"]["retail"], "longest_wait_s": 3.0}}}  # type: ignore[index]
    got = [*site_changed(view, "north", one, 5, 1.0), *site_changed(view, "north", two, 6, 2.0),
           *site_changed(view, "north", same_again, 7, 3.0), *site_changed(view, "north", None, 8, 4.0)]  # fmt: skip
    assert [(e.event_id, e.type) for e in got] == [
        ("site:north:5", "site.up"), ("agent:north:a1:5", "agent.logged_in"), ("queue:north:retail:5", "queue.changed"),
        ("agent:north:a1:6", "agent.state_changed"), ("agent:north:a2:6", "agent.logged_in"),
        ("queue:north:retail:6", "queue.changed"),
        ("site:north:8", "site.down"), ("agent:north:a1:8", "agent.logged_out"),
        ("agent:north:a2:8", "agent.logged_out"),
    ]  # fmt: skip
    assert got[3].data == {"agent_id": "a1", "state": "busy", "reason": None, "call_id": "c1"}
    assert all(e.site == "north" for e in got) and got[2].queue == "retail"
    for e in got:
        _valid(e.document())


def test_work_order_history_entries_are_events() -> None:
    row = {"id": 7, "order_id": "WO-1", "event": "create", "from_status": None, "to_status": "new", "actor": "n-5",
           "at": 50.0, "note": "secret note"}  # fmt: skip
    event = workorder_event(row, {"type": "complaint", "priority": "high", "department_id": "cards"}, 1.0)
    assert (event.event_id, event.type, event.at) == ("workorder:7", "workorder.created", 50.0)
    assert "note" not in event.data
    _valid(event.document())
    assert {t.split(".")[0] for t in EVENT_TYPES} == {"call", "agent", "queue", "site", "workorder"}


def test_filters_by_type_family_site_and_queue() -> None:
    event = call_changed(None, _record(RecordState.QUEUED, 3), 1.0)
    assert event is not None
    assert matches(event, [], [], [])
    assert matches(event, ["call.*"], ["branch-north"], ["retail"])
    assert matches(event, ["call.queued", "agent.*"], [], [])
    assert not matches(event, ["agent.*"], [], [])
    assert not matches(event, ["call.ended"], [], [])
    assert not matches(event, [], ["branch-south"], [])
    assert not matches(event, [], [], ["loans"])
