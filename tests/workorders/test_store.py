"""Work orders through the real store on a real SQLite file (and one run on PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from central.workorders.errors import (
    Conflict,
    NotFound,
    TransitionNotAllowed,
    UnknownDepartment,
    UnknownPriority,
    UnknownType,
    WorkOrderError,
)
from central.workorders.escalation import Escalator
from central.workorders.lifecycle import Event, Status
from central.workorders.service import NewOrder, WorkOrders
from central.workorders.sla import Deadline, Escalation
from cluster.clock import ManualClock
from tests.fixtures_pg import create_database, drop_database
from tests.workorders.conftest import START, make_service


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Escalation] = []
        self.resolved: list[str] = []

    async def escalate(self, escalation: Escalation) -> None:
        self.seen.append(escalation)

    async def resolved_order(self, order: dict) -> None:  # type: ignore[type-arg]
        self.resolved.append(order["id"])


async def _gas_dept(service: WorkOrders) -> None:
    await service.create_department("gas-repair", "Gas repair crews", ["crew-1", "crew-2"], "queue:dispatch")


def leak(**kw: object) -> NewOrder:
    base: dict[str, object] = dict(
        type="emergency",
        priority="urgent",
        department="gas-repair",
        subject="smell of gas in the kitchen",
        created_by="north-1",
        customer_number="C1001",
        call_ids=("call-1",),
    )
    base.update(kw)
    return NewOrder(**base)  # type: ignore[arg-type]


async def whole_lifecycle(service: WorkOrders, clock: ManualClock) -> None:
    await _gas_dept(service)
    order = await service.create(leak(assignee="crew-1"))
    assert (order["status"], order["assignee"], order["call_ids"]) == ("assigned", "crew-1", ["call-1"])
    assert order["response_due"] == START + 15 * 60 * 0.25
    clock.advance(60)
    order = await service.step(order["id"], Event.START, "crew-1")
    assert order["responded_at"] == START + 60
    await service.step(order["id"], Event.WAIT_FOR_CUSTOMER, "crew-1", note="no one home")
    await service.comment(order["id"], "crew-1", "left a card")
    await service.attach(order["id"], "crew-1", "meter.jpg", "image/jpeg", b"\xff\xd8photo")
    await service.step(order["id"], Event.CUSTOMER_REPLIED, "crew-1")
    await service.step(order["id"], Event.RESOLVE, "crew-1")
    await service.step(order["id"], Event.CLOSE, "north-1")
    order = await service.step(order["id"], Event.REOPEN, "north-1")
    assert [(h["from_status"], h["to_status"]) for h in order["history"]] == [
        (None, "new"),
        ("new", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "waiting_for_customer"),
        ("waiting_for_customer", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
        ("closed", "reopened"),
    ]
    assert order["comments"][0]["body"] == "left a card"
    (attached,) = order["attachments"]
    assert await service.files.get(attached["sha256"]) == b"\xff\xd8photo"
    assert order["resolved_at"] is None and order["closed_at"] is None
    listed = await service.store.orders({"department": "gas-repair", "status": "reopened", "customer": "C1001"})
    assert [o["id"] for o in listed] == [order["id"]]
    assert await service.store.orders({"assignee": "crew-2"}) == []


async def test_whole_lifecycle_on_sqlite(service: WorkOrders, clock: ManualClock) -> None:
    await whole_lifecycle(service, clock)


@pytest.mark.postgres
def test_whole_lifecycle_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        url = await create_database(postgres_url)
        clock = ManualClock(START)
        service = await make_service(url, tmp_path, clock)
        try:
            await whole_lifecycle(service, clock)
        finally:
            await service.store.engine.dispose()
            await drop_database(postgres_url, url)

    asyncio.run(run())


async def test_bad_input_changes_nothing(service: WorkOrders) -> None:
    await _gas_dept(service)
    for bad, error in (
        (leak(department="nowhere"), UnknownDepartment),
        (leak(type="praise"), UnknownType),
        (leak(priority="whenever"), UnknownPriority),
    ):
        with pytest.raises(error) as raised:
            await service.create(bad)
        assert raised.value.status == 400
    with pytest.raises(WorkOrderError) as stranger:
        await service.create(leak(assignee="a-stranger"))
    assert stranger.value.error_id == "workorder.not_a_member"
    assert await service.store.orders({}) == []
    order = await service.create(leak())
    with pytest.raises(TransitionNotAllowed):
        await service.step(order["id"], Event.CLOSE, "north-1")
    after = await service.store.order(order["id"])
    assert (after["status"], after["version"], len(after["history"])) == ("new", 1, 1)
    with pytest.raises(WorkOrderError) as outsider:
        await service.step(order["id"], Event.ASSIGN, "north-1", assignee="someone-else")
    assert outsider.value.error_id == "workorder.not_a_member"
    assert (await service.store.order(order["id"]))["version"] == 1
    with pytest.raises(NotFound):
        await service.step("WO-NOPE", Event.ASSIGN, "x", assignee="y")
    with pytest.raises(NotFound):
        await service.attach("WO-NOPE", "x", "a.txt", "text/plain", b"abc")


async def test_a_stale_version_is_a_conflict(service: WorkOrders) -> None:
    await _gas_dept(service)
    order = await service.create(leak())
    await service.step(order["id"], Event.ASSIGN, "a", assignee="crew-1")
    with pytest.raises(Conflict):
        await service.store.apply(order["id"], 1, Status.ASSIGNED, "assign", "a", START, {})


async def test_escalation_with_an_injected_clock(service: WorkOrders, clock: ManualClock) -> None:
    await _gas_dept(service)
    urgent = await service.create(leak())  # response due in 225 s, resolution in 3600 s
    calm = await service.create(leak(priority="low", assignee="crew-2"))  # response in 1800 s, resolution 8 h
    sink = Recorder()
    escalator = Escalator(service.store, clock, sink, interval_s=30.0, warn_before_s=120.0, scheduler=clock)
    escalator.start()
    try:
        clock.advance(90)  # 3 ticks, nothing within 120 s of a deadline
        await escalator.drain()
        assert sink.seen == []
        clock.advance(30)  # t=120: urgent's response due at 225 -> within 120 s
        await escalator.drain()
        assert [(e.order_id, e.deadline, e.breached) for e in sink.seen] == [(urgent["id"], Deadline.RESPONSE, False)]
        assert sink.seen[0].target == "queue:dispatch"  # the department's target
        await service.step(calm["id"], Event.START, "crew-2")  # calm responds in time
        clock.advance(3600)
        await escalator.drain()
        assert [(e.order_id, e.deadline, e.breached) for e in sink.seen[1:]] == [
            (urgent["id"], Deadline.RESOLUTION, True)
        ]
        clock.advance(28_800 - 3720 - 60)  # t = 8 h - 60 s: calm's resolution (8 h) is 60 s ahead
        await escalator.drain()
        assert [(e.order_id, e.deadline, e.breached) for e in sink.seen[2:]] == [
            (calm["id"], Deadline.RESOLUTION, False)
        ]
        clock.advance(3600)
        await escalator.drain()
        assert len(sink.seen) == 3  # each deadline once
        stored = await service.store.order(urgent["id"])
        assert [e["deadline"] for e in stored["escalations"]] == ["response", "resolution"]
    finally:
        await escalator.stop()
    assert clock.pending() == 0


async def test_two_escalators_escalate_once(service: WorkOrders, clock: ManualClock) -> None:
    await _gas_dept(service)
    await service.create(leak())
    clock.advance(3600)
    sinks = [Recorder(), Recorder()]
    escalators = [Escalator(service.store, clock, s, scheduler=clock) for s in sinks]
    await asyncio.gather(*(e.run_once() for e in escalators))
    assert sum(len(s.seen) for s in sinks) == 2  # response + resolution, each by one replica
