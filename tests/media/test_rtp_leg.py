"""RTP legs over real UDP sockets: bridged to a WebRTC agent, RFC 4733 keys both ways, prompts
and music on hold; the wire formats, the SDP and the jitter buffer on their own."""

from __future__ import annotations

import asyncio

import pytest

from site_node.media import BadSdp, MediaSwitch, RtpLeg
from site_node.media.rtp import JitterBuffer
from site_node.media.rtp_sdp import parse_sdp
from site_node.media.rtp_wire import EventReceiver, RtpPacket, TelephoneEvent, event_packets, parse_event, parse_rtp
from tests.helpers.rtp_peer import RtpPeer
from tests.media.peers import ClientPeer, hears, join

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
)


async def rtp_join(switch: MediaSwitch, leg_id: str, peer: RtpPeer) -> RtpLeg:
    await peer.open()
    leg, answer = await switch.answer_rtp(leg_id, peer.offer())
    peer.accept(answer)
    return leg


@pytest.mark.parametrize("agent_codec", ["PCMU", "opus"])
async def test_rtp_caller_and_webrtc_agent_hear_each_other(switch: MediaSwitch, agent_codec: str) -> None:
    caller, agent = RtpPeer(440), ClientPeer(660, agent_codec)
    try:
        c_leg = await rtp_join(switch, "c", caller)
        a_leg = await join(switch, "a", agent)
        assert c_leg.spec.name == "PCMU"
        call = switch.new_call("call-1", "c")
        call.connect_agent("a")
        assert await hears(agent, 440)
        assert await hears(caller, 660)  # type: ignore[arg-type]
        if agent_codec == "PCMU":  # same codec: forwarded, never decoded
            assert c_leg.frames_decoded == 0 and a_leg.frames_decoded == 0
        assert c_leg.packets_in > 0 and c_leg.packets_out > 0
    finally:
        await caller.close()
        await agent.close()


async def test_rfc4733_key_reaches_digit_collection_and_prompt_plays(switch: MediaSwitch) -> None:
    caller = RtpPeer(None)
    try:
        await rtp_join(switch, "c", caller)
        switch.new_call("call-1", "c")
        played = asyncio.create_task(switch.play_prompt("c", "Welcome to the bank, press zero for an agent."))
        collecting = asyncio.create_task(switch.collect_digits("c", max_digits=2, timeout_s=5, terminators="#"))
        await asyncio.sleep(0.3)
        await caller.press("0#")
        got = await collecting
        assert (got.digits, got.ended_by) == ("0", "terminator")
        await played
        assert max(abs(caller.recent(3.0)).max(initial=0), 0) > 1000  # the prompt was heard
    finally:
        await caller.close()


async def test_music_on_hold_and_keys_sent_to_the_far_end(switch: MediaSwitch) -> None:
    caller, agent = RtpPeer(440), ClientPeer(660, "PCMU")
    try:
        c_leg = await rtp_join(switch, "c", caller)
        await join(switch, "a", agent)
        call = switch.new_call("call-1", "c")
        call.connect_agent("a")
        assert await hears(caller, 660)  # type: ignore[arg-type]
        call.hold()
        assert await hears(caller, 261.63, share=0.15)  # type: ignore[arg-type]  # the music's lowest note
        await c_leg.send_digits("5*")
        await asyncio.sleep(0.2)
        assert caller.keys_heard == "5*"
    finally:
        await caller.close()
        await agent.close()


async def test_bad_offers_are_refused(switch: MediaSwitch) -> None:
    for sdp, why in [
        ("nonsense", "v=0"),
        (OFFER.replace("RTP/AVP", "UDP/TLS/RTP/SAVPF"), "plain RTP"),
        (OFFER.replace("8 0 101", "18 101"), "neither PCMU nor PCMA"),
        (OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 host.example"), "not an IP address"),
    ]:
        with pytest.raises(BadSdp, match=why):
            await switch.answer_rtp("x", sdp)
    assert "x" not in switch.legs


def test_sdp_offer_parsed_in_its_order() -> None:
    media = parse_sdp(OFFER)
    assert (media.host, media.port, media.event_pt) == ("127.0.0.1", 40000, 101)
    assert media.codecs == ((8, "PCMA"), (0, "PCMU"))


def test_wire_formats_round_trip() -> None:
    packet = RtpPacket(0, 65535, 2**32 - 1, 7, b"\xff" * 160, marker=True)
    assert parse_rtp(packet.to_bytes()) == packet
    event = TelephoneEvent("#", True, 10, 800)
    assert parse_event(event.to_bytes()) == event
    receiver = EventReceiver()
    keys = [receiver.key(RtpPacket(101, i, 1000, 1, e.to_bytes())) for i, e in enumerate(event_packets("7"))]
    assert [k for k in keys if k] == ["7"]  # one press, however many packets


def test_jitter_buffer_reorders_and_skips_gaps() -> None:
    buffer = JitterBuffer(depth=2)

    def packet(seq: int) -> RtpPacket:
        return RtpPacket(0, seq & 0xFFFF, seq * 160, 1, bytes([seq & 0xFF]))

    for seq in (65534, 0, 65535):  # reordered, across the wrap
        buffer.add(packet(seq))
    out = [buffer.pop() for _ in range(3)]
    assert [p.sequence for p in out if p] == [65534, 65535, 0]
    buffer.add(packet(3))  # 1 and 2 lost
    buffer.add(packet(4))
    got = [buffer.pop() for _ in range(3)]
    assert [p.sequence if p else None for p in got] == [None, 3, 4]
    assert buffer.lost == 1
    buffer.add(packet(2))  # too late now
    assert buffer.late == 1
