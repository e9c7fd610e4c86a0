"""A phone caller survives the SIGKILL of its site (issue 15, point 4).

Real processes: etcd, central, two sites, Kamailio and one SIP edge; the carrier's caller is a
Python UAC (:class:`loadtests.sip.phone.SipPhone`: SIPp cannot assert what the caller hears).
The caller talks to an agent at branch-north; north is SIGKILLed; the edge re-joins the call at
branch-south (same call id) and re-offers RTP there, the agent re-attaches by himself, and the
caller hears the agent again -- while the carrier's dialog sees nothing: no BYE, no re-INVITE.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from loadtests.sip.phone import SipPhone
from tests.e2e.helpers import agent_ready, centrals, final_cdr, proc, running_cluster, wait_published
from tests.sip.conftest import needs_sip, sip_entry_points
from webrtc_client.audio import hears

pytestmark = [pytest.mark.slow, needs_sip, pytest.mark.timeout(120)]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path, sites=2, centrals=1, sip_edges=1, extra_env=sip_entry_points(tmp_path)) as c:
        yield c


async def lookup(cluster: LocalCluster, call_id: str) -> dict[str, object]:
    async with (
        aiohttp.ClientSession(headers=cluster.operator_headers()) as http,
        http.get(f"{centrals(cluster)[0]}/v1/calls/{call_id}") as r,
    ):
        return await r.json()  # type: ignore[no-any-return]


def final_cdrs(cluster: LocalCluster, call_id: str) -> list[tuple[str, str]]:
    """(site, end reason) of every CDR of the call that has an end reason, at every site."""
    rows = []
    for site in cluster.site_names():
        with sqlite3.connect(cluster.base_dir / "data" / f"{site}.db") as db:
            rows += [(site, r[0]) for r in db.execute(
                "select end_reason from calls where call_id = ? and end_reason is not null", (call_id,))]  # fmt: skip
    return rows


async def test_sip_caller_hears_the_agent_again_after_its_site_is_killed(cluster: LocalCluster) -> None:
    assert cluster.sip_address is not None
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    phone = await SipPhone(cluster.sip_address, tone_hz=440.0).open()
    try:
        await wait_published(cluster, "branch-north", "credit_card", ready=1)
        assert await phone.call("95589") == 200
        await asyncio.sleep(1.0)
        phone.press("0")  # RFC 2833: the card line's menu asks for an agent
        ring = await agent.wait_ringing(30)
        call_id = ring["call_id"]
        await agent.answer(call_id)
        assert agent.phone is not None
        assert await hears(agent.phone.receiver, 440.0), "the agent does not hear the SIP caller"
        assert await hears(phone.receiver, 660.0), "the SIP caller does not hear the agent"
        assert (await lookup(cluster, call_id))["site"] == "branch-north"

        proc(cluster, "branch-north").signal(signal.SIGKILL)
        killed = time.monotonic()
        phone.receiver.clear()

        assert await hears(phone.receiver, 660.0, timeout=30), "the SIP caller never hears the agent again"
        back_ms = (time.monotonic() - killed) * 1000
        async with asyncio.timeout(10):
            await agent.reattached.wait()
        assert agent.site == "branch-south"
        assert await hears(agent.phone.receiver, 440.0), "the agent does not hear the SIP caller again"
        now = await lookup(cluster, call_id)
        assert now["site"] == "branch-south" and now["failovers"] == 1
        print(f"SIP caller hears the agent again {back_ms:.0f} ms after the SIGKILL")
        # The carrier noticed nothing: no BYE, no re-INVITE; the media address never changed.
        assert [m.method for m in phone.requests] == []

        assert await phone.hangup() == 200
        row = await final_cdr(cluster, "branch-south", call_id)
        assert row is not None and row["end_reason"] == "answered_completed" and row["failovers"] == 1
        assert row["agent_id"] == "north-01"
        await asyncio.sleep(0.5)
        assert final_cdrs(cluster, call_id) == [("branch-south", "answered_completed")]
    finally:
        await phone.close()
        await agent.close()


def callbacks(cluster: LocalCluster, site: str) -> list[tuple[str, str, str, float, str]]:
    with sqlite3.connect(cluster.base_dir / "data" / f"{site}.db") as db:
        return list(db.execute("select call_id, phone, queue, due_at, state from callbacks order by due_at, id"))


async def test_callers_of_a_dead_edge_are_called_back_in_their_order(cluster: LocalCluster) -> None:
    """The edge holds the carrier's leg: when it dies its callers' lines are gone with it. The
    site sees the edge's socket go and nobody re-join within the grace: each call ends as
    ``callback_requested`` (a talking one as answered, flagged ``callback_requested``) and a
    callback is stored, due at the call's first arrival (the
    talking caller, then the queued one: their order is kept)."""
    assert cluster.sip_address is not None
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    talking = await SipPhone(cluster.sip_address, caller="+8613800000011").open()
    queued = await SipPhone(cluster.sip_address, caller="+8613800000012").open()
    try:
        await wait_published(cluster, "branch-north", "credit_card", ready=1)
        assert await talking.call("95589") == 200
        await asyncio.sleep(1.0)
        talking.press("0")
        ring = await agent.wait_ringing(30)
        await agent.answer(ring["call_id"])
        assert agent.phone is not None and await hears(agent.phone.receiver, 440.0)
        assert await queued.call("95589") == 200
        await asyncio.sleep(1.0)
        queued.press("0")
        await wait_published(cluster, "branch-north", "credit_card", waiting=1, timeout_s=20)

        edge = next(p for p in cluster.sip_procs if p.role == "sip-edge")
        edge.signal(signal.SIGKILL)

        assert agent.sig is not None
        ended = await agent.sig.event("call_ended", timeout_s=20)
        assert ended["data"]["call_id"] == ring["call_id"]
        rows: list[tuple[str, str, str, float, str]] = []
        async with asyncio.timeout(20):
            while len(rows) < 2:
                rows = callbacks(cluster, "branch-north")
                await asyncio.sleep(0.2)
        assert rows[0][0] == ring["call_id"], "the talking caller (first to call) is called back first"
        assert [(r[1], r[2], r[4]) for r in rows] == [("+8613800000011", "credit_card", "pending"),
                                                      ("+8613800000012", "credit_card", "pending")]  # fmt: skip
        # the talking call was answered (and ends so), the queued one ends as a callback
        for (call_id, _, _, due_at, _), reason in zip(rows, ["answered_completed", "callback_requested"], strict=True):
            row = await final_cdr(cluster, "branch-north", call_id)
            assert row is not None and row["end_reason"] == reason and row["callback_requested"]
            assert due_at == pytest.approx(row["original_arrival_at"], abs=0.01)
            assert final_cdrs(cluster, call_id) == [("branch-north", reason)]
        assert talking.requests == [] and queued.requests == []  # nobody is left to say BYE
    finally:
        for phone in (talking, queued):
            await phone.close()
        await agent.close()
