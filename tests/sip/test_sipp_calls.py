"""A phone call through Kamailio and the SIP edge, placed by SIPp: the IVR, an RFC 2833 "0", an
agent who hears the caller, BYE from either side, exactly one CDR; CANCEL before the answer,
a number the trunk does not serve, a malformed INVITE."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import agent_ready, final_cdr
from tests.sip.conftest import needs_sip
from webrtc_client.audio import hears

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
