"""The "done when" of the event stream (issue 23, D4): on a real cluster, a talking call's
events reach a webhook that fails and then recovers, across a SIGKILL of the call's site:
exactly once after de-duplication by id, in order, signed; the call is seen moving to the
backup site and ending there."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from cluster.tokens import TokenSigner
from tests.e2e.helpers import agent_ready, call_to_queue, centrals, proc, running_cluster, wait_published
from tests.events.receiver import SECRET, Receiver, verify
from webrtc_client.audio import hears
from webrtc_client.client import ClientError

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=2, centrals=1) as c:
        yield c


def _story(receiver: Receiver, call_id: str) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for event in receiver.received:
        seen.setdefault(event["id"], event)
    return [e for e in seen.values() if e["call_id"] == call_id]


async def _until_ended(receiver: Receiver, call_id: str) -> None:
    async with asyncio.timeout(60):
        while not any(e["type"] == "call.ended" for e in _story(receiver, call_id)):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def test_a_calls_events_reach_the_webhook_once_each_across_a_site_sigkill(
    cluster: LocalCluster, receiver: Receiver
) -> None:
    admin = TokenSigner(cluster.secret, ttl_s=3600).issue("agent", "north-10", role="admin")
    async with aiohttp.ClientSession() as http:
        async with http.post(centrals(cluster)[0] + "/v1/events/subscriptions",
                             json={"url": receiver.url, "secret": SECRET, "types": ["call.*"]},
                             headers={"Authorization": f"Bearer {admin}"}) as r:  # fmt: skip
            assert r.status == 201, await r.text()
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    caller = await call_to_queue(cluster, "+8613700000042", 440.0)
    ring = await agent.wait_ringing()
    await agent.answer(ring["call_id"])
    assert agent.phone is not None and await hears(agent.phone.receiver, 440.0), "not talking before the kill"
    proc(cluster, "branch-north").signal(signal.SIGKILL)
    async with asyncio.timeout(60):
        await asyncio.gather(caller.reattached.wait(), agent.reattached.wait())
    assert caller.site == agent.site == "branch-south"
    assert agent.phone is not None and await hears(agent.phone.receiver, 440.0), "not back together"
    receiver.healthy = True  # it failed (500) through the failover; now it recovers
    try:
        await agent.hangup()
    except ClientError as exc:  # the caller's side ended it first
        assert exc.error_id == "call.unknown"
    await _until_ended(receiver, caller.call_id)
    story = _story(receiver, caller.call_id)
    kinds = [(e["type"], e["site"]) for e in story]
    assert kinds[0] == ("call.routed", "branch-north")
    assert ("call.connected", "branch-north") in kinds and ("call.moving", "branch-south") in kinds
    assert kinds.index(("call.connected", "branch-north")) < kinds.index(("call.moving", "branch-south"))
    assert kinds[-1] == ("call.ended", "branch-south")
    assert [e["seq"] for e in story] == sorted(e["seq"] for e in story)  # in order
    assert len({e["id"] for e in story}) == len(story)
    assert all(verify(headers, body) for headers, body in receiver.attempts)
    for client in (caller, agent):
        await client.close()
