"""A media-less caller (``no_media``) goes through the IVR with signalling digits, is queued,
and is answered by an agent: the whole call runs at a real site on a NullLeg."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from cluster.launcher import LocalCluster
from webrtc_client.client import AgentClient, ClientError, CustomerClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("nomedia"), base_port=0, sites=1, centrals=1)
    try:
        local.start()
        yield local
    finally:
        local.stop()


def urls(cluster: LocalCluster, role: str) -> list[str]:
    return [proc.url for proc in cluster.procs if proc.role == role]


async def press_until(customer: CustomerClient, digit: str, *names: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Digits pressed during the welcome prompt are dropped: press again every second."""
    assert customer.sig is not None
    async with asyncio.timeout(timeout_s):
        while True:
            await customer.press(digit, how="signalling")
            try:
                return await customer.sig.event(*names, timeout_s=1.0)
            except TimeoutError:
                continue


async def test_media_less_call_through_ivr_queue_and_agent(cluster: LocalCluster) -> None:
    customer = CustomerClient(urls(cluster, "central"), caller="13800000001", dialled="95589", media=False)
    agent = AgentClient(urls(cluster, "site")[0], "north-01", "demo", central_urls=urls(cluster, "central"))
    try:
        joined = await customer.call()
        assert joined["type"] == "joined" and customer.phone is None
        assert any(m.get("command") == "no_media" for m in customer.sig.received if m.get("type") == "ack")
        queued = await press_until(customer, "0", "queued")
        assert queued["data"]["queue"] == "credit_card" and queued["data"]["position"] == 1

        profile = await agent.login()
        assert "credit_card" in profile["agent"]["skills"]
        await agent.ready()
        ringing = await agent.wait_ringing(timeout_s=20)
        assert ringing["call_id"] == customer.call_id
        await agent.answer(customer.call_id)
        connected = await customer.sig.event("connected", timeout_s=10)
        assert connected["event"] == "connected"
        await customer.hangup()
        ended = await customer.sig.event("ended", timeout_s=10)
        assert ended["data"]["by"] == "customer"
        await agent.wrap_up("resolved", "load test")
        await agent.command({"type": "agent_state", "state": "logout"})  # no agent left for the next test
    finally:
        await customer.close()
        await agent.close()


async def test_no_media_is_idempotent_and_the_caller_can_hang_up_in_queue(cluster: LocalCluster) -> None:
    customer = CustomerClient(urls(cluster, "central"), caller="13800000002", dialled="95589", media=False)
    try:
        await customer.call()
        assert customer.sig is not None
        again = await customer.sig.request({"type": "no_media"})  # idempotent on the same call
        assert again["type"] == "ack"
        queued = await press_until(customer, "0", "queued")
        assert queued["data"]["queue"] == "credit_card"
        await customer.hangup()
        ended = await customer.sig.event("ended", timeout_s=10)
        assert ended["event"] == "ended"
    finally:
        await customer.close()


async def test_a_waiting_caller_asks_for_a_callback(cluster: LocalCluster) -> None:
    customer = CustomerClient(urls(cluster, "central"), caller="13800000003", dialled="95589", media=False)
    try:
        await customer.call()
        assert customer.sig is not None
        await press_until(customer, "0", "queued")
        await customer.ask_callback()
        ended = await customer.sig.event("ended", timeout_s=10)
        assert ended["event"] == "ended"
        db = cluster.base_dir / "data" / f"{cluster.procs[-1].name}.db"
        async with asyncio.timeout(10):  # the CDR and the request are written after the end
            while True:
                with sqlite3.connect(db) as conn:
                    cdr = conn.execute("select end_reason, callback_requested from calls where call_id = ?",
                                       (customer.call_id,)).fetchone()
                    request = conn.execute("select phone, queue, state from callbacks where call_id = ?",
                                           (customer.call_id,)).fetchone()
                if cdr is not None and request is not None:
                    break
                await asyncio.sleep(0.2)
        assert tuple(cdr) == ("callback_requested", 1)
        assert tuple(request) == ("13800000003", "credit_card", "pending")
        with pytest.raises(ClientError) as refused:  # the call is over: nothing more to ask for
            await customer.ask_callback()
        assert refused.value.error_id in ("call.unknown", "signalling.closed")
    finally:
        await customer.close()
