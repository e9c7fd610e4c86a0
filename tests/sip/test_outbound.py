"""Egress through the edge: the outbound dialog's pure lifecycle, and real calls to a SIPp UAS
playing the public network (answer with RTP echo, busy, no answer -> CANCEL)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cluster.tokens import TokenSigner
from site_node.media.rtp_sdp import RtpMedia, build_sdp
from site_node.sip.config import SipConfig
from site_node.sip.outbound import OutboundCall, OutboundDialog, Outcome, Phase
from site_node.sip.trunk import NoTrunk, OutboundTarget, OutsideDialPlan, TrunkConfig, outbound_target
from site_node.sip.ua import SipUserAgent

SCENARIOS = Path(__file__).resolve().parents[2] / "loadtests" / "sip"
needs_sipp = pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (apt sip-tester) is needed")


# ---- the pure lifecycle ----------------------------------------------------------------------
def test_ringing_then_answer_then_our_bye() -> None:
    dialog = OutboundDialog(started_at=0.0, ring_timeout_s=30)
    assert dialog.provisional(100, 0.1) is None and dialog.phase is Phase.CALLING
    dialog.provisional(180, 0.2)
    assert dialog.phase is Phase.RINGING
    assert dialog.final(200, 3.0) == "ack" and dialog.phase is Phase.ANSWERED
    assert dialog.final(200, 3.5) == "ack"  # a retransmitted 200 is ACKed again
    assert dialog.hangup(10.0) == "bye"
    assert (dialog.outcome, dialog.ended_by, dialog.answered_at, dialog.ended_at) == (Outcome.ANSWERED, "us", 3.0, 10.0)


@pytest.mark.parametrize(
    ("status", "outcome"), [(486, Outcome.BUSY), (503, Outcome.UNAVAILABLE), (404, Outcome.REJECTED)]
)
def test_failures_are_acked_and_recorded(status: int, outcome: Outcome) -> None:
    dialog = OutboundDialog(started_at=0.0, ring_timeout_s=30)
    assert dialog.final(status, 1.0) == "ack"
    assert (dialog.phase, dialog.outcome, dialog.code, dialog.ended_by) == (Phase.ENDED, outcome, status, "them")
    assert dialog.hangup(2.0) is None  # nothing left to end


def test_no_answer_within_the_ring_timeout_cancels() -> None:
    dialog = OutboundDialog(started_at=5.0, ring_timeout_s=10)
    dialog.provisional(180, 6.0)
    assert dialog.tick(14.9) is None
    assert dialog.tick(15.0) == "cancel" and dialog.tick(16.0) is None
    dialog.final(487, 15.1)
    assert (dialog.outcome, dialog.code) == (Outcome.NO_ANSWER, 487)


def test_an_answer_crossing_our_cancel_is_taken_and_hung_up() -> None:
    dialog = OutboundDialog(started_at=0.0, ring_timeout_s=30)
    assert dialog.hangup(1.0) == "cancel"
    assert dialog.final(200, 1.1) == "ack+bye"
    assert dialog.hangup(1.2) == "bye" and dialog.outcome is Outcome.ANSWERED


def test_their_bye_ends_an_answered_call_and_a_silent_gateway_is_unavailable() -> None:
    dialog = OutboundDialog(started_at=0.0, ring_timeout_s=30)
    dialog.final(200, 1.0)
    assert dialog.bye_received(4.0) == "ok" and dialog.ended_by == "them"
    silent = OutboundDialog(started_at=0.0, ring_timeout_s=30)
    silent.gave_up(32.0)
    assert silent.outcome is Outcome.UNAVAILABLE


# ---- against SIPp as the public network ------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def uas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[int, asyncio.subprocess.Process]]:
    scenario = request.param
    port, media_port = _free_port(), _free_port()
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
        "-mp", str(media_port), "-rtp_echo", "-m", "1", "-nostdin", "-trace_err",
        "-error_file", str(tmp_path / "sipp.err"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    await asyncio.sleep(0.5)  # sipp binds its port at once; a lost first INVITE is retransmitted anyway
    try:
        yield port, proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def _trunk(port: int, ring_timeout_s: float = 30.0) -> TrunkConfig:
    return TrunkConfig(gateway=f"127.0.0.1:{port}", dial_plan=[r"0[1-9][0-9]{8,10}"],
                       caller_id={"support": "95588"}, ring_timeout_s=ring_timeout_s)  # fmt: skip


def _sdp(rtp_port: int) -> str:
    return build_sdp(RtpMedia("127.0.0.1", rtp_port, ((0, "PCMU"),), 101))


def _call(target: OutboundTarget, rtp_port: int, ring_timeout_s: float = 30.0) -> OutboundCall:
    return OutboundCall(target, _sdp(rtp_port), host="127.0.0.1", ring_timeout_s=ring_timeout_s)


@needs_sipp
@pytest.mark.parametrize("uas", ["uas_answer.xml"], indirect=True)
async def test_an_answered_call_carries_rtp_both_ways_and_ends_with_our_bye(
    uas: tuple[int, asyncio.subprocess.Process],
) -> None:
    port, sipp = uas
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    rtp.setblocking(False)
    target = outbound_target(_trunk(port), "02155556666", "support")
    assert target.caller_id == "95588"
    call = _call(target, rtp.getsockname()[1])
    try:
        dialog = await asyncio.wait_for(call.place(), 20)
        assert dialog.phase is Phase.ANSWERED and call.remote_media is not None
        far = (call.remote_media.host, call.remote_media.port)
        sent = echoed = 0
        loop = asyncio.get_running_loop()
        for seq in range(50):
            rtp.sendto(struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x1234) + b"\xff" * 160, far)
            sent += 1
            await asyncio.sleep(0.02)
        async with asyncio.timeout(10):
            while echoed < 25:  # the echo comes back (generous: a loaded machine may drop some)
                data = await loop.sock_recv(rtp, 2048)
                echoed += data[:2] == b"\x80\x00"
        assert sent == 50 and echoed >= 25
        ended = await asyncio.wait_for(call.hangup(), 20)
        assert (ended.outcome, ended.ended_by, ended.code) == (Outcome.ANSWERED, "us", 200)
        assert await asyncio.wait_for(sipp.wait(), 20) == 0  # SIPp saw the whole scenario: INVITE .. BYE
    finally:
        await call.stop()
        rtp.close()


@needs_sipp
@pytest.mark.parametrize("uas", ["uas_busy.xml"], indirect=True)
async def test_a_busy_line_is_an_outcome_not_a_hung_leg(uas: tuple[int, asyncio.subprocess.Process]) -> None:
    port, sipp = uas
    call = _call(outbound_target(_trunk(port), "02155556666", None), 40000)
    try:
        dialog = await asyncio.wait_for(call.place(), 20)
        assert (dialog.phase, dialog.outcome, dialog.code) == (Phase.ENDED, Outcome.BUSY, 486)
        assert await asyncio.wait_for(sipp.wait(), 20) == 0  # our ACK arrived
    finally:
        await call.stop()


@needs_sipp
@pytest.mark.parametrize("uas", ["uas_ring.xml"], indirect=True)
async def test_no_answer_within_the_ring_timeout_is_cancelled(uas: tuple[int, asyncio.subprocess.Process]) -> None:
    port, sipp = uas
    call = _call(outbound_target(_trunk(port), "02155556666", None), 40000, ring_timeout_s=1.5)
    try:
        dialog = await asyncio.wait_for(call.ended(), 30) if await asyncio.wait_for(call.place(), 30) else None
        assert dialog is not None and (dialog.outcome, dialog.code) == (Outcome.NO_ANSWER, 487)
        assert await asyncio.wait_for(sipp.wait(), 20) == 0  # CANCEL, 487, ACK as SIPp expects
    finally:
        await call.stop()


def test_a_number_outside_the_dial_plan_never_leaves_the_edge() -> None:
    with pytest.raises(OutsideDialPlan) as caught:
        outbound_target(_trunk(5060), "95588", "support")
    assert caught.value.error_id == "sip.outside_dial_plan"


# ---- the edge's user agent as the entry point --------------------------------------------------
@pytest.fixture
async def edge(uas: tuple[int, asyncio.subprocess.Process]) -> AsyncIterator[SipUserAgent]:
    config = SipConfig(port=_free_port(), central_urls=["http://127.0.0.1:9"], trunk=_trunk(uas[0], 1.5))
    agent = SipUserAgent(config, TokenSigner("s" * 32))
    await agent.start()
    try:
        yield agent
    finally:
        await agent.stop()


async def _outcome(agent: SipUserAgent, outcome: str) -> None:
    async with asyncio.timeout(20):
        while agent.metrics.calls[f"outbound_{outcome}"] == 0 or agent.outbound:  # noqa: ASYNC110 (a counter)
            await asyncio.sleep(0.05)


@needs_sipp
@pytest.mark.parametrize("uas", ["uas_answer_bye.xml"], indirect=True)
async def test_the_far_end_hangs_up_first(
    uas: tuple[int, asyncio.subprocess.Process], edge: SipUserAgent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="site_node.sip.ladder")
    call = await asyncio.wait_for(edge.dial("02155556666", "support", _sdp(40002)), 20)
    assert call.dialog.phase is Phase.ANSWERED
    dialog = await asyncio.wait_for(call.ended(), 20)
    assert (dialog.outcome, dialog.ended_by) == (Outcome.ANSWERED, "them")
    await _outcome(edge, "answered")
    assert await asyncio.wait_for(uas[1].wait(), 20) == 0  # our 200 to its BYE arrived
    fields = [getattr(r, "fields", {}) for r in caplog.records if r.name == "site_node.sip.ladder"]
    ladder = [(f["dir"], f["sip"]) for f in fields if f.get("sip_call_id") == call.call_id]
    assert ladder[0] == ("out", "INVITE") and ladder[-2:] == [("in", "BYE"), ("out", "200")], ladder


@needs_sipp
@pytest.mark.parametrize("uas", ["uas_busy.xml"], indirect=True)
async def test_the_edge_counts_a_busy_outcome_and_refuses_numbers_outside_the_plan(
    uas: tuple[int, asyncio.subprocess.Process], edge: SipUserAgent
) -> None:
    with pytest.raises(OutsideDialPlan):
        await edge.dial("95588", "support", _sdp(40004))
    assert not edge.outbound and not edge.metrics.calls  # nothing sent, nothing counted
    call = await asyncio.wait_for(edge.dial("02155556666", None, _sdp(40004)), 20)
    assert call.dialog.outcome is Outcome.BUSY
    await _outcome(edge, "busy")
    assert dict(edge.metrics.calls) == {"outbound_busy": 1}


async def test_an_edge_without_a_trunk_refuses_to_dial() -> None:
    agent = SipUserAgent(SipConfig(port=_free_port(), central_urls=["http://127.0.0.1:9"]), TokenSigner("s" * 32))
    with pytest.raises(NoTrunk) as caught:
        await agent.dial("02155556666", None, _sdp(40006))
    assert caught.value.error_id == "sip.no_trunk" and not agent.outbound
