"""Recordings metadata, voicemail, callbacks, audit trail and KPI aggregates."""

from __future__ import annotations

import asyncio

from site_node.storage import (
    CallbackRequest,
    KpiAggregate,
    RecordingMeta,
    Storage,
    VoicemailMessage,
)


async def test_recordings_are_started_and_finished(storage: Storage) -> None:
    rec_id = await storage.recordings.add_recording(
        RecordingMeta(call_id="call-1", path="recordings/call-1.wav", started_at=100.0, channels=2)
    )
    await storage.recordings.finish_recording(rec_id, ended_at=160.0, duration_s=55.0, paused_s=5.0)

    [stored] = await storage.recordings.recordings_for_call("call-1")
    assert (stored.id, stored.channels, stored.duration_s, stored.paused_s) == (rec_id, 2, 55.0, 5.0)


async def test_voicemail_is_listed_and_marked_heard(storage: Storage) -> None:
    first = await storage.voicemail.add_voicemail(
        VoicemailMessage("call-1", "vm/1.wav", 12.5, created_at=10.0, caller_number="+4917012")
    )
    await storage.voicemail.add_voicemail(VoicemailMessage("call-2", "vm/2.wav", 3.0, 20.0))

    await storage.voicemail.mark_heard(first)

    assert [m.call_id for m in await storage.voicemail.list_voicemail(heard=False)] == ["call-2"]
    assert [m.heard for m in await storage.voicemail.list_voicemail()] == [True, False]


async def test_due_callbacks_are_claimed_once(storage: Storage) -> None:
    for due in (50.0, 100.0, 500.0):
        await storage.callbacks.request_callback(
            CallbackRequest(phone="+49 170 111", requested_at=10.0, due_at=due, site="branch-north")
        )

    claims = await asyncio.gather(*(storage.callbacks.claim_due(200.0) for _ in range(3)))

    claimed = sorted(c.due_at for batch in claims for c in batch)
    assert claimed == [50.0, 100.0]
    assert all(c.state == "dialling" and c.attempts == 1 for batch in claims for c in batch)
    pending = await storage.callbacks.callbacks(state="pending")
    assert [(c.phone, c.due_at) for c in pending] == [("+49170111", 500.0)]
    first_id = next(c.id for batch in claims for c in batch if c.due_at == 50.0)
    assert first_id is not None
    await storage.callbacks.set_state(first_id, "done", at=210.0)
    assert [c.due_at for c in await storage.callbacks.callbacks(state="done")] == [50.0]


async def test_audit_entries_are_appended_and_filtered(storage: Storage) -> None:
    await storage.audit.audit(at=1.0, actor="north-10", action="login", target="north-10")
    await storage.audit.audit(at=2.0, actor="north-10", action="flow_published", target="main", details={"version": 2})

    entries = await storage.audit.entries(action="flow_published")
    assert [(e.actor, e.target, e.details) for e in entries] == [("north-10", "main", {"version": 2})]
    assert len(await storage.audit.entries(since=1.5)) == 1


async def test_kpi_aggregates_replace_their_cell(storage: Storage) -> None:
    site_total = KpiAggregate(900.0, 900, "branch-north", {"offered": 10}, computed_at=1.0)
    vip = KpiAggregate(900.0, 900, "branch-north", {"offered": 3}, queue="vip")
    agent = KpiAggregate(900.0, 900, "branch-north", {"answered": 2}, queue="vip", agent_id="n-4")
    await storage.stats.save_aggregates([site_total, vip, agent])
    await storage.stats.save_aggregates([KpiAggregate(900.0, 900, "branch-north", {"offered": 11})])

    everything = await storage.stats.load_aggregates(site="branch-north")
    totals = await storage.stats.load_aggregates(queue=None, agent_id=None)
    per_agent = await storage.stats.load_aggregates(queue="vip", agent_id="n-4")

    assert len(everything) == 3
    assert [a.kpis for a in totals] == [{"offered": 11}]
    assert [a.kpis for a in per_agent] == [{"answered": 2}]
    assert await storage.stats.load_aggregates(start=1000.0) == []
