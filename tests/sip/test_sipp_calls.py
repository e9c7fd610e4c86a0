"""A phone call through Kamailio and the SIP edge, placed by SIPp: the IVR, an RFC 2833 "0", an
agent who hears the caller, BYE from either side, exactly one CDR; CANCEL before the answer,
a number the trunk does not serve, a malformed INVITE."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import aiohttp
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
               timeout_s: float = 40.0, load: tuple[str, ...] = ("-m", "1")) -> tuple[int, str]:  # fmt: skip
    assert cluster.sip_address is not None
    host, port = cluster.sip_address
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SCENARIOS / scenario), "-s", number, *load, "-d", str(duration_ms),
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


async def scrape(cluster: LocalCluster) -> dict[str, float]:
    """The edge's /metrics as {'name{labels}': value}."""
    async with aiohttp.ClientSession() as http, http.get(cluster.sip_metrics_urls[0]) as r:
        text = await r.text()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("cc_sip_")}  # fmt: skip


def live_calls(cluster: LocalCluster) -> int:
    total = 0
    for site in cluster.site_names():
        with sqlite3.connect(cluster.base_dir / "data" / f"{site}.db") as db:
            total += db.execute("select count(*) from calls where end_reason is null").fetchone()[0]
    return total


def final_cdrs_of(cluster: LocalCluster, caller: str) -> int:
    total = 0
    for site in cluster.site_names():
        with sqlite3.connect(cluster.base_dir / "data" / f"{site}.db") as db:
            total += db.execute("select count(*) from calls where caller_number = ? and end_reason is not null",
                                (caller,)).fetchone()[0]  # fmt: skip
    return total


async def test_a_flood_of_invites_each_gets_an_answer_and_leaves_nothing(cluster: LocalCluster) -> None:
    """30 INVITEs at 10 per second from one caller: each ends 200 (then BYE), 486 (the caller
    calls too often) or 503; afterwards no dialog is open at the edge, no call is live at a
    site, and each answered call has exactly one final CDR."""
    before = await scrape(cluster)
    cdrs_before = final_cdrs_of(cluster, "+8613800000001")
    code, out = await sipp(cluster, "uac_flood.xml", "95589", duration_ms=0, timeout_s=40,
                           load=("-r", "10", "-m", "30"))  # fmt: skip
    assert code == 0, out
    await asyncio.sleep(3.0)
    after = await scrape(cluster)

    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    outcomes = {k: delta(k) for k in after if k.startswith("cc_sip_calls_total") and delta(k)}
    answered = delta('cc_sip_calls_total{outcome="answered"}')
    assert sum(outcomes.values()) == 30, outcomes
    assert set(outcomes) <= {f'cc_sip_calls_total{{outcome="{o}"}}' for o in ("answered", "486", "503")}, outcomes
    assert delta('cc_sip_requests_received_total{method="INVITE"}') >= 30
    assert after["cc_sip_active_dialogs"] == 0
    for _ in range(50):  # the sites write the CDRs just after the calls end
        if not live_calls(cluster) and final_cdrs_of(cluster, "+8613800000001") - cdrs_before >= answered:
            break
        await asyncio.sleep(0.3)
    assert live_calls(cluster) == 0
    assert final_cdrs_of(cluster, "+8613800000001") - cdrs_before == answered


async def test_metrics_and_the_sip_ladder_of_a_call(cluster: LocalCluster) -> None:
    assert cluster.sip_address is not None
    before = await scrape(cluster)
    phone = await SipPhone(cluster.sip_address, caller="+8613800000041").open()
    try:
        assert await phone.call("95589") == 200
        assert await hears_sound(phone.receiver)
        await asyncio.sleep(1.0)  # a second of voice both ways
        during = await scrape(cluster)
        assert during["cc_sip_active_dialogs"] >= 1
        assert await phone.hangup() == 200
    finally:
        await phone.close()
    after = await scrape(cluster)
    for direction in ("to_site", "to_carrier"):
        key = f'cc_sip_rtp_packets_total{{direction="{direction}"}}'
        assert after[key] - before.get(key, 0) >= 20, key
        assert f'cc_sip_rtp_lost_total{{direction="{direction}"}}' in after
        assert f'cc_sip_rtp_jitter_ms{{direction="{direction}"}}' in after
    assert after['cc_sip_responses_sent_total{code="200",method="INVITE"}'] >= 1
    assert after['cc_sip_responses_sent_total{code="200",method="BYE"}'] >= 1
    lines = [json.loads(line) for line in (cluster.base_dir / "sip-edge-1.log").read_text().splitlines()
             if phone.call_id in line and line.startswith("{")]  # fmt: skip
    ladder = [(e["dir"], e["sip"]) for e in lines if e.get("logger") == "site_node.sip.ladder"]
    assert ladder[:3] == [("in", "INVITE"), ("out", "100"), ("out", "200")], ladder
    assert ("in", "ACK") in ladder and ladder[-2:] == [("in", "BYE"), ("out", "200")], ladder
    ours = {e.get("call_id") for e in lines if e.get("logger") == "site_node.sip.ladder" and e["sip"] == "BYE"}
    (call_id,) = ours
    assert call_id is not None
    for _ in range(50):  # the site writes the CDR just after the call ends
        if cdr_count(cluster, call_id):
            break
        await asyncio.sleep(0.2)
    assert cdr_count(cluster, call_id) == 1, "the ladder names the call's CDR id"
