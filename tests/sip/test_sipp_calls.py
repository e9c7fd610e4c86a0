"""A phone call through Kamailio and the SIP edge, placed by SIPp: the IVR, an RFC 2833 "0", an
agent who hears the caller, BYE from either side, exactly one CDR; CANCEL before the answer,
a number the trunk does not serve, a malformed INVITE."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from cluster.launcher import LocalCluster
from loadtests.sip.phone import SipPhone
from site_node.media.rtp_sdp import parse_sdp
from tests.e2e.helpers import agent_ready, final_cdr
from tests.sip.conftest import needs_sip
from webrtc_client.audio import hears, hears_sound

pytestmark = [pytest.mark.slow, needs_sip]
ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "loadtests" / "sip"


async def sipp(cluster: LocalCluster, scenario: str, number: str, *, duration_ms: int = 1000,
               timeout_s: float = 40.0) -> tuple[int, str]:  # fmt: skip
    assert cluster.sip_address is not None
    host, port = cluster.sip_address
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SCENARIOS / scenario), "-s", number, "-m", "1", "-d", str(duration_ms),
        "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-nostdin", "-timeout", f"{int(timeout_s)}s",
        "-trace_err", "-error_file", str(cluster.base_dir / f"sipp-{scenario}.err"), f"{host}:{port}",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout_s + 10)
    return proc.returncode or 0, out.decode(errors="replace")[-2000:]


def cdr_count(cluster: LocalCluster, call_id: str) -> int:
    total = 0
    for site in cluster.site_names():
        with sqlite3.connect(cluster.base_dir / "data" / f"{site}.db") as db:
            total += db.execute("select count(*) from calls where call_id = ?", (call_id,)).fetchone()[0]
    return total


async def test_caller_presses_0_reaches_an_agent_who_hears_them_and_hangs_up(cluster: LocalCluster) -> None:
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    try:
        phone = asyncio.create_task(sipp(cluster, "uac_ivr.xml", "95589", duration_ms=9000))
        ring = await agent.wait_ringing(timeout_s=20)
        await agent.answer(ring["call_id"])
        assert agent.phone is not None
        assert await hears(agent.phone.receiver, 440.0), "the agent does not hear the SIP caller"
        code, out = await phone
        assert code == 0, out
        row = await final_cdr(cluster, "branch-north", ring["call_id"])
        assert row is not None and row["end_reason"] is not None
        assert cdr_count(cluster, ring["call_id"]) == 1
    finally:
        await agent.close()


async def test_agent_hangs_up_and_the_caller_gets_bye(cluster: LocalCluster) -> None:
    agent = await agent_ready(cluster, "branch-north", "north-02", 660.0)
    try:
        phone = asyncio.create_task(sipp(cluster, "uac_ivr_wait_bye.xml", "95589"))
        ring = await agent.wait_ringing(timeout_s=20)
        await agent.answer(ring["call_id"])
        assert agent.phone is not None
        assert await hears(agent.phone.receiver, 440.0)
        await agent.hangup()
        code, out = await phone
        assert code == 0, out
        assert await final_cdr(cluster, "branch-north", ring["call_id"]) is not None
        assert cdr_count(cluster, ring["call_id"]) == 1
    finally:
        await agent.close()


async def test_cancel_before_answer(cluster: LocalCluster) -> None:
    code, out = await sipp(cluster, "uac_cancel.xml", "95589", timeout_s=20)
    assert code == 0, out


async def test_unknown_number_is_404_and_routes_nothing(cluster: LocalCluster) -> None:
    code, out = await sipp(cluster, "uac_unknown_number.xml", "12345", timeout_s=20)
    assert code == 0, out


async def test_malformed_invite_is_400(cluster: LocalCluster) -> None:
    code, out = await sipp(cluster, "uac_malformed.xml", "95589", timeout_s=20)
    assert code == 0, out


async def test_hold_and_resume_by_reinvite(cluster: LocalCluster) -> None:
    """SIPp: a=sendonly is answered a=recvonly, a=sendrecv again a=sendrecv, same media port."""
    code, out = await sipp(cluster, "uac_hold.xml", "95589", timeout_s=30)
    assert code == 0, out


async def test_hold_stops_media_to_the_caller_and_resume_brings_it_back(cluster: LocalCluster) -> None:
    assert cluster.sip_address is not None
    phone = await SipPhone(cluster.sip_address, caller="+8613800000031").open()
    try:
        assert await phone.call("95589") == 200
        assert await hears_sound(phone.receiver), "the caller hears no welcome"
        before = phone.remote_media
        assert before is not None
        held = await phone.reinvite("sendonly")
        assert held is not None and held.status == 200
        answer = parse_sdp(held.body)
        assert (answer.direction, answer.host, answer.port) == ("recvonly", before.host, before.port)
        await asyncio.sleep(0.3)
        count = phone.packets_in
        await asyncio.sleep(1.0)
        assert phone.packets_in - count <= 2, "media still reaches a caller on hold"
        resumed = await phone.reinvite("sendrecv")
        assert resumed is not None and resumed.status == 200 and parse_sdp(resumed.body).direction == "sendrecv"
        count = phone.packets_in
        await asyncio.sleep(1.0)
        assert phone.packets_in - count >= 30, "media does not come back after the hold"
        assert [m.method for m in phone.requests] == []
        assert await phone.hangup() == 200
    finally:
        await phone.close()
