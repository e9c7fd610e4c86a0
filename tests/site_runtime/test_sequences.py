"""Whole sequences through the site's services in one process (manual clock, in-memory edges):
offer -> ring-no-answer -> re-offer -> answer -> hold -> consult -> wrap-up, with every
transition of the call and of the agents asserted in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cluster.callrecords import RecordState
from cluster.clock import ManualClock
from tests.crm.conftest import serve
from tests.site_runtime.harness import SECRET, Harness

RING_S = 15.0  # site.acd.ring_timeout_s default
WRAP_S = 30.0  # site.acd.wrap_up_s default


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await Harness.start(tmp_path)
    yield harness
    await harness.stop()


def agent_moves(harness: Harness, agent_id: str) -> list[tuple[str, str, str]]:
    live = harness.runtime.desk.agents[agent_id]
    return [(t.event, t.old.value, t.new.value) for t in live.transitions]


async def test_ring_no_answer_then_re_offer_answer_hold_consult_and_wrap_up(site: Harness) -> None:
    first = await site.agent("a-1", {"retail": 9})
    second = await site.agent("a-2", {"retail": 5})
    helper = await site.agent("a-3", {"loans": 5})
    for client in (first, second, helper):
        site.runtime.desk.command_state(client.session, "ready", None)
    lc = await site.queued_call("c-1", "retail")

    assert lc.call.offered_agent_id == "a-1"  # the better skill level rings first
    await site.advance(RING_S)  # nobody answers: a-1 is not ready (missed), the call rings a-2
    assert lc.call.offered_agent_id == "a-2" and "missed" in first.names()
    assert site.runtime.desk.agents["a-1"].agent.state.value == "not_ready"

    await site.runtime.answer_call(second.session, "c-1")
    await site.advance(60)
    await site.runtime.hold(second.session)
    await site.advance(10)
    await site.runtime.consult(second.session, "a-3")
    await site.advance(20)
    await site.runtime.consult_cancel(second.session)
    await site.runtime.hangup(second.session, "done")
    await site.advance(WRAP_S)  # the wrap-up timer ends after-call work

    assert [(t.event, t.old.value, t.new.value) for t in lc.transitions] == [
        ("enqueue", "new", "queued"),
        ("offer_to_agent", "queued", "offered"),
        ("offer_failed", "offered", "queued"),
        ("offer_to_agent", "queued", "offered"),
        ("answer", "offered", "connected"),
        ("hold", "connected", "held"),
        ("consult_start", "held", "consulting"),
        ("consult_cancel", "consulting", "connected"),
        ("hangup", "connected", "ended"),
    ]
    assert agent_moves(site, "a-1")[-2:] == [("offer", "ready", "reserved"), ("ring_timeout", "reserved", "not_ready")]
    assert agent_moves(site, "a-2")[1:] == [
        ("set_ready", "not_ready", "ready"),
        ("offer", "ready", "reserved"),
        ("answer", "reserved", "on_call"),
        ("hold", "on_call", "on_hold"),
        ("dial", "on_hold", "on_call"),  # talking to the consulted agent
        ("call_ended", "on_call", "after_call_work"),
        ("wrap_up_timeout", "after_call_work", "ready"),
    ]
    assert [(state, agent) for call_id, state, agent in site.store.writes] == [
        (RecordState.QUEUED, None),
        (RecordState.OFFERED, "a-1"),
        (RecordState.QUEUED, None),
        (RecordState.OFFERED, "a-2"),
        (RecordState.CONNECTED, "a-2"),
        (RecordState.HELD, "a-2"),
        (RecordState.CONSULTING, "a-2"),
        # consult cancelled, then hung up at once: the call ended before that write ran
    ]
    assert "c-1" not in site.store.records  # closed when the call ended
    cdr = await site.runtime.storage.calls.get_call("c-1")
    assert cdr is not None and cdr.end_reason == "answered_completed" and cdr.agent_id == "a-2"
    assert cdr.ended_at is not None and cdr.wrap_up_end_at == pytest.approx(cdr.ended_at + WRAP_S)
    assert cdr.hold_total_s == pytest.approx(30.0)  # held 10 s, then 20 s consulting
    assert second.names().count("ringing") == 1 and "connected" in second.names()


@pytest.fixture
async def site_and_central(tmp_path: Path) -> AsyncIterator[Harness]:
    """A site whose customers (and their contact history) are at a real central CRM server."""
    clock = ManualClock(1_767_225_600.0)
    async for crm in serve(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}", SECRET, clock):
        await crm.add({"customer_number": "10000001", "name": "Alice Weber"})
        harness = await Harness.start(tmp_path, clock=clock, central=crm.url)
        yield harness
        await harness.stop()


async def test_the_wrap_up_code_notes_and_ivr_data_reach_the_next_agents_contact_history(
    site_and_central: Harness,
) -> None:
    site = site_and_central
    agent = await site.agent("a-1", {"retail": 5})
    site.runtime.desk.command_state(agent.session, "ready", None)
    first = await site.queued_call("c-1", "retail", customer_id="10000001", collected={"bill_month": "2026-11"})
    await site.runtime.answer_call(agent.session, first.call_id)
    await site.runtime.hangup(agent.session, "done")
    notes = "promised a refund; card 4111 1111 1111 1111 blocked"
    await site.runtime.agent_command(agent.session, "wrap_up", {"code": "refund", "notes": notes, "end": True})
    await site.settle()

    second = await site.queued_call("c-2", "retail", customer_id="10000001")
    await site.settle()
    ringing = next(data for name, data in agent.events if name == "ringing" and data["call_id"] == second.call_id)
    [earlier] = ringing["screen_pop"]["history"]
    assert earlier["call_id"] == "c-1" and earlier["wrap_up_code"] == "refund"
    assert earlier["notes"] == "promised a refund; card ************1111 blocked"  # never the full number
    assert earlier["collected"] == {"bill_month": "2026-11"}
