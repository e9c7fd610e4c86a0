"""The packet path: same-codec bridges forward RTP payloads unchanged, without decoding;
a bridge between different codecs transcodes; RTCP reports describe the forwarded streams."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from site_node.config import MediaConfig
from site_node.media import MediaSwitch, WebRtcLeg, aiortc_internals
from site_node.media.codecs import PCMU, make_packet
from site_node.media.rtp_stream import RtpWriter, SequenceFilter, payload_of, read_header
from tests.media.conftest import AUDIO_KEYS
from tests.media.peers import ClientPeer, emitted_until, hears, join


class NumberedPcmu(MediaStreamTrack):
    """PCMU frames whose 160 bytes spell out the frame's index (no two frames alike)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []

    async def recv(self) -> Any:
        await asyncio.sleep(0.02)
        n = len(self.sent)
        payload = (n.to_bytes(4, "big") * 40)[:160]
        self.sent.append(payload)
        return make_packet(payload, n * 160, PCMU)


class EncodedPeer:
    """A PCMU client that sends numbered frames and keeps the encoded frames it receives."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.track = NumberedPcmu()
        transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
        caps = RTCRtpSender.getCapabilities("audio")
        assert caps is not None
        transceiver.setCodecPreferences([c for c in caps.codecs if c.name == "PCMU"])
        self.received: list[bytes] = []
        aiortc_internals.tap_receiver(transceiver.receiver, self._on_frame)

    def _on_frame(self, codec: str, data: bytes, timestamp: int) -> None:
        self.received.append(data)


async def _join_encoded(switch: MediaSwitch, leg_id: str, peer: EncodedPeer) -> WebRtcLeg:
    await peer.pc.setLocalDescription(await peer.pc.createOffer())
    leg, answer = await switch.answer_webrtc(leg_id, peer.pc.localDescription.sdp)
    await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    async with asyncio.timeout(10):
        for pc in (peer.pc, leg.pc):
            await emitted_until(pc, "connectionstatechange", lambda pc=pc: pc.connectionState == "connected")
    return leg


async def test_same_codec_bridge_forwards_payloads_unchanged_at_packet_level(switch: MediaSwitch) -> None:
    customer, agent = EncodedPeer(), EncodedPeer()
    try:
        c_leg = await _join_encoded(switch, "c", customer)
        a_leg = await _join_encoded(switch, "a", agent)
        switch.new_call("call-1", "c").connect_agent("a")
        async with asyncio.timeout(10):
            while len(agent.received) < 50 or len(customer.received) < 50:  # noqa: ASYNC110 (a frame count)
                await asyncio.sleep(0.05)
        # PCMU bytes identical end to end, in order, each direction
        for sender, receiver in ((customer, agent), (agent, customer)):
            sent = {payload: i for i, payload in enumerate(sender.track.sent)}
            indices = [sent[payload] for payload in receiver.received]  # KeyError: a changed payload
            assert indices == sorted(indices) and len(set(indices)) == len(indices)
        # ... on the packet path: nothing decoded, nothing through aiortc's receiver or sender queue
        for leg in (c_leg, a_leg):
            assert leg.rtp_in >= 50 and leg.aiortc_frames_in == 0
            assert leg.frames_decoded == 0 and leg.frames_forwarded >= 50
            assert leg.port.pushed == leg.port.sent and leg.packets_sent >= 50
    finally:
        await customer.pc.close()
        await agent.pc.close()


async def test_recording_decodes_a_copy_while_the_bridge_still_forwards(switch: MediaSwitch) -> None:
    customer, agent = EncodedPeer(), EncodedPeer()
    try:
        c_leg = await _join_encoded(switch, "c", customer)
        a_leg = await _join_encoded(switch, "a", agent)
        call = switch.new_call("call-1", "c")
        call.connect_agent("a")
        call.start_recording()
        async with asyncio.timeout(10):
            while len(agent.received) < 50 or min(leg.frames_forwarded for leg in (c_leg, a_leg)) < 50:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        info = call.stop_recording()
        assert info is not None and info.duration_s > 0
        sent = {payload: i for i, payload in enumerate(customer.track.sent)}
        assert all(payload in sent for payload in agent.received)  # still unchanged bytes
        for leg in (c_leg, a_leg):  # the recorder decoded a copy; the bridge kept forwarding
            assert leg.frames_decoded > 0 and leg.frames_forwarded >= 50 and leg.aiortc_frames_in == 0
    finally:
        await customer.pc.close()
        await agent.pc.close()


async def test_rtcp_reports_describe_the_forwarded_streams(media_config: MediaConfig) -> None:
    switch = MediaSwitch(media_config.model_copy(update={"rtcp_interval_s": 1.0}), audio_keys=AUDIO_KEYS)
    await switch.start()
    customer, agent = EncodedPeer(), EncodedPeer()
    try:
        c_leg = await _join_encoded(switch, "c", customer)
        await _join_encoded(switch, "a", agent)
        switch.new_call("call-1", "c").connect_agent("a")
        await asyncio.sleep(3.0)  # aiortc reports every 0.5-1.5 s
        # the switch's sender reports (SR) what it forwarded to the agent; the agent's receiver
        # stats come from those packets; the customer sees its own stream acknowledged in RRs
        agent_stats = await agent.pc.getStats()
        inbound = [s for s in agent_stats.values() if s.type == "inbound-rtp"]
        assert inbound and inbound[0].packetsReceived >= 100 and inbound[0].packetsLost == 0
        remote_in = [s for s in agent_stats.values() if s.type == "remote-outbound-rtp"]
        assert remote_in and remote_in[0].packetsSent >= 100  # from the switch's SR
        customer_stats = await customer.pc.getStats()
        remote = [s for s in customer_stats.values() if s.type == "remote-inbound-rtp"]
        assert remote and remote[0].packetsLost == 0 and remote[0].fractionLost == 0  # from the switch's RR
        assert c_leg.path is not None and c_leg.path.unprotect_failures == 0
    finally:
        await customer.pc.close()
        await agent.pc.close()
        await switch.stop()


async def test_transcoded_bridge_between_pcmu_and_opus(switch: MediaSwitch) -> None:
    customer, agent = ClientPeer(440, "opus"), ClientPeer(660, "PCMU")
    try:
        c_leg = await join(switch, "c", customer)
        a_leg = await join(switch, "a", agent)
        assert (c_leg.spec.name, a_leg.spec.name) == ("opus", "PCMU")
        switch.new_call("call-1", "c").connect_agent("a")
        assert await hears(agent, 440)
        assert await hears(customer, 660)
        assert c_leg.frames_decoded > 0 and a_leg.frames_decoded > 0
        assert c_leg.frames_forwarded == 0 and a_leg.frames_forwarded == 0
        assert c_leg.port.pushed > 0 and a_leg.port.pushed > 0  # still written at packet level
    finally:
        await customer.close()
        await agent.close()


def test_rtp_writer_and_header_reader_round_trip() -> None:
    sent: list[tuple[bytes, int, int]] = []

    def send(packet: bytes, ts: int, n: int) -> bool:
        sent.append((packet, ts, n))
        return True

    writer = RtpWriter(111, 0x1234, send)
    writer.write(b"abc", 0, marker=True)
    writer.write(b"def", 960)
    (p1, ts1, _), (p2, ts2, n2) = sent
    pt1, seq1, t1, ssrc1 = read_header(p1)
    _, seq2, t2, _ = read_header(p2)
    assert (pt1, ssrc1, p1[1] & 0x80, p2[1] & 0x80) == (111, 0x1234, 0x80, 0)
    assert (seq2 - seq1) & 0xFFFF == 1 and (t2 - t1) & 0xFFFFFFFF == 960 and (t1, t2) == (ts1, ts2)
    assert payload_of(p2) == b"def" and n2 == 3 and writer.sent == 2
    # CSRCs, a header extension and padding are skipped
    packet = bytes([0xB1, 0]) + bytes(10) + bytes(4) + b"\xbe\xde\x00\x01" + bytes(4) + b"xyz" + b"\x00\x02"
    assert payload_of(packet) == b"xyz"
    order = SequenceFilter()
    assert [order.accept(s) for s in (65535, 0, 0, 65530, 1)] == [True, True, False, False, True]
