"""A whole call through a real local cluster: IVR, queue, screen pop, two-way audio, hold,
consult transfer, wrap-up, the CDR; and the temporary IVR for a PIN (C5c)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator

import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import (
    a_customer,
    agent_ready,
    call_to_queue,
    cdr,
    identified_call_in_pin_check,
    running_cluster,
    wait_published,
)
from webrtc_client.audio import hears, rms

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1) as c:
        yield c


async def test_call_ivr_queue_answer_hold_consult_wrap_up_and_cdr(cluster: LocalCluster) -> None:
    first = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    second = await agent_ready(cluster, "branch-north", "north-02", 880.0)
    await second.not_ready("lunch")
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    customer = await call_to_queue(cluster, "+8613900000001", 440.0)
    assert customer.phone is not None and first.phone is not None and second.phone is not None
    ring = await first.wait_ringing()
    assert ring["call_id"] == customer.call_id
    pop = ring["screen_pop"]
    assert pop["caller_number"] == "+8613900000001" and pop["queue"] == "credit_card"
    await first.answer(customer.call_id)
    assert await hears(first.phone.receiver, 440.0), "agent does not hear the customer"
    assert await hears(customer.phone.receiver, 660.0), "customer does not hear the agent"

    await first.command({"type": "hold"})
    assert customer.sig is not None
    await customer.sig.event("on_hold")
    await asyncio.sleep(1.0)
    held = customer.phone.receiver.recent(0.5)
    assert rms(held) > 300 and not await hears(customer.phone.receiver, 660.0, timeout=0.5), "no music on hold"
    await first.command({"type": "resume"})
    assert await hears(customer.phone.receiver, 660.0)

    await second.ready()
    await first.command({"type": "consult", "target": "north-02"})
    assert second.sig is not None
    await second.sig.event("consulted")
    assert await hears(second.phone.receiver, 660.0), "the consulted agent does not hear the first"
    await first.command({"type": "consult_complete"})
    assert await hears(second.phone.receiver, 440.0), "after the transfer the customer is not with agent 2"
    assert await hears(customer.phone.receiver, 880.0)
    await first.wrap_up("transferred", "sent to a colleague")

    await second.hangup()
    ended = await customer.sig.event("ended")
    assert ended["data"]["reason"] == "answered_completed"
    await second.wrap_up("resolved", "card limit raised")
    await asyncio.sleep(1.0)
    row = cdr(cluster, "branch-north", customer.call_id)
    assert row is not None
    for column in ("arrival_at", "ivr_start_at", "ivr_end_at", "queued_at", "offered_at", "answered_at",
                   "ended_at", "wrap_up_end_at"):
        assert row[column] is not None, column
    assert row["hold_total_s"] > 0 and row["transfers"] >= 1 and row["agent_id"] == "north-02"
    assert row["end_reason"] == "answered_completed"
    for client in (customer, first, second):
        await client.close()


async def test_a_customer_calling_from_their_registered_number_is_identified_on_the_card_line(
    cluster: LocalCluster,
) -> None:
    with sqlite3.connect(cluster.base_dir / "data" / "branch-north.db") as db:
        customer_id, phone = db.execute(  # a call's customer id is the customer number at central
            "select c.customer_number, p.number from customer_phones p join customers c on c.id = p.customer_id "
            "where p.number in (select number from customer_phones group by number having count(*) = 1) "
            "order by p.number limit 1"
        ).fetchone()
    agent = await agent_ready(cluster, "branch-north", "north-04", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    customer = await call_to_queue(cluster, phone, None)
    ring = await agent.wait_ringing(40)
    pop = ring["screen_pop"]
    assert pop["customer"] is not None and pop["customer"]["id"] == customer_id
    assert pop["ivr"]["attributes"]["identified_by"] == "by caller number, unverified"
    assert pop["verified"] is None  # identified, not verified
    await agent.answer(customer.call_id)
    await agent.hangup()
    await agent.wrap_up("identified")
    await agent.command({"type": "agent_state", "state": "logout"})  # leaves nothing behind for the next test
    await customer.close()
    await agent.close()


async def test_temporary_ivr_for_pin_returns_to_the_same_agent_who_never_sees_it(cluster: LocalCluster) -> None:
    customer_id, _ = a_customer(cluster)
    agent = await agent_ready(cluster, "branch-north", "north-03", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    customer, ring = await identified_call_in_pin_check(cluster, agent, "+8613900000002")
    assert customer.phone is not None
    assert ring["screen_pop"]["customer"]["id"] == customer_id
    assert all("*" in a["number"] for a in ring["screen_pop"]["customer"]["accounts"])
    await asyncio.sleep(1.0)
    customer.phone.send_tones("123456#")
    assert agent.sig is not None
    result = await agent.sig.event("ivr_result", timeout_s=30)
    assert result["data"] == {"call_id": customer.call_id, "verified": True, "locked": False}
    assert await hears(customer.phone.receiver, 660.0), "the caller is not back with the same agent"
    assert "123456" not in json.dumps(agent.sig.received)
    await agent.hangup()
    await agent.wrap_up("verified")
    await customer.close()
    await agent.close()
    log = (cluster.base_dir / "branch-north.log").read_text()
    assert "123456" not in log
