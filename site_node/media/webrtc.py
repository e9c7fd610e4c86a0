"""WebRTC legs: an aiortc peer connection per participant, ending at the switch.

The client offers (audio sendrecv, optionally a data channel labelled ``dtmf``); the switch
answers with its codec preference and moves the leg's RTP onto the packet path
(:class:`~site_node.media.aiortc_internals.SrtpPath`): each received SRTP packet is
unprotected and its payload delivered to the leg in the same call, and the leg's port pushes
every frame it accepts to an :class:`~site_node.media.rtp_stream.RtpWriter` that protects and
sends it at once. A same-codec bridge therefore costs one datagram in, one datagram out and a
header rewrite per packet. aiortc keeps ICE, DTLS, the data channel and RTCP (fed with the
path's counters); its receiver stays tapped (never decodes) in case a packet reaches it.

Offers are validated first: exactly one audio section,
no video, parseable SDP -> otherwise :class:`~site_node.media.errors.BadSdp`.
"""

from __future__ import annotations

import logging
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

import site_node.media.aiortc_internals as aiortc_internals
from site_node.config import MediaConfig
from site_node.media.codecs import codec_by_name
from site_node.media.errors import BadSdp, LegClosed
from site_node.media.legs import Leg
from site_node.media.ports import OutboundPort
from site_node.media.rtp_stream import RtpWriter, SequenceFilter, payload_of

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 32 * 1024
DTMF_LABEL = "dtmf"


def validate_offer(sdp: str) -> None:
    """Cheap syntactic checks before any peer connection is made."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise BadSdp("the offer is empty")
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise BadSdp(f"the offer is larger than {MAX_SDP_BYTES} bytes")
    if not sdp.lstrip().startswith("v=0"):
        raise BadSdp("the offer does not start with v=0")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc raises ValueError, IndexError, KeyError...
        raise BadSdp(f"the offer cannot be parsed: {exc}") from exc
    kinds = [media.kind for media in parsed.media]
    if kinds.count("audio") != 1:
        raise BadSdp("the offer must have exactly one audio section")
    if "video" in kinds:
        raise BadSdp("video is not supported")
    audio = next(media for media in parsed.media if media.kind == "audio")
    if audio.ice is None or not audio.ice.usernameFragment or audio.dtls is None or not audio.dtls.fingerprints:
        raise BadSdp("the offer has no ICE credentials or DTLS fingerprint")


def rtc_configuration(config: MediaConfig) -> RTCConfiguration:
    servers = [RTCIceServer(urls=url) for url in config.stun_servers]
    servers += [
        RTCIceServer(urls=url, username=config.turn_username, credential=config.turn_password)
        for url in config.turn_servers
    ]
    return RTCConfiguration(iceServers=servers)


class PortTrack(MediaStreamTrack):
    """The sender's track: yields the leg port's packets (aiortc only packs them)."""

    kind = "audio"

    def __init__(self, port: OutboundPort) -> None:
        super().__init__()
        self._port = port

    async def recv(self) -> Any:
        try:
            return await self._port.next_packet()
        except LegClosed:
            self.stop()
            raise MediaStreamError from None


class WebRtcLeg(Leg):
    def __init__(self, leg_id: str, pc: RTCPeerConnection, codec_name: str) -> None:
        super().__init__(leg_id, codec_by_name(codec_name))
        self.pc = pc
        self.connection_states: list[str] = [pc.connectionState]
        self.path: aiortc_internals.SrtpPath | None = None
        self._writer: RtpWriter | None = None
        self._payload_types: dict[int, str] = {}
        self._order = SequenceFilter()
        self.rtp_in = 0  # packets received on the packet path
        self.aiortc_frames_in = 0  # frames that came through aiortc's receiver instead

        @pc.on("connectionstatechange")
        def _on_state() -> None:
            self.connection_states.append(pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                self.port.close()
                self._mark_ended("disconnected" if pc.connectionState == "failed" else "closed")

        @pc.on("datachannel")
        def _on_channel(channel: Any) -> None:
            if channel.label != DTMF_LABEL:
                return

            @channel.on("message")
            def _on_message(message: Any) -> None:
                if isinstance(message, str) and 0 < len(message) <= 32:
                    self.deliver_digit(message, "datachannel")

    def _use_packet_path(self, transceiver: Any) -> None:
        self._payload_types = aiortc_internals.codec_payload_types(transceiver)
        out_pt = next(pt for pt, name in self._payload_types.items() if name.lower() == self.spec.name.lower())
        path = self.path = aiortc_internals.SrtpPath(transceiver, self._on_rtp, self.spec.clock_rate)
        writer = self._writer = RtpWriter(out_pt, path.ssrc, path.send)
        self.port.set_sink(writer.write)

    def _on_rtp(self, packet: bytes, payload_type: int, seq: int, timestamp: int) -> None:
        codec = self._payload_types.get(payload_type)
        if codec is None or not self._order.accept(seq):  # comfort noise, events...; late or duplicate
            return
        self.rtp_in += 1
        self.deliver(codec, payload_of(packet), timestamp)

    def _on_aiortc_frame(self, codec: str, payload: bytes, timestamp: int) -> None:
        self.aiortc_frames_in += 1
        self.deliver(codec, payload, timestamp)

    @property
    def packets_sent(self) -> int:
        return self._writer.sent if self._writer is not None else 0

    @classmethod
    async def answer(cls, leg_id: str, offer_sdp: str, config: MediaConfig) -> tuple[WebRtcLeg, str]:
        """Accept a client's offer; returns the leg and the SDP answer."""
        validate_offer(offer_sdp)
        pc = RTCPeerConnection(rtc_configuration(config))
        holder: list[WebRtcLeg] = []
        try:
            transceiver = pc.addTransceiver("audio", direction="sendrecv")
            caps = RTCRtpSender.getCapabilities("audio")
            assert caps is not None
            preferred = [codec for name in config.codecs for codec in caps.codecs if codec.name.lower() == name.lower()]
            transceiver.setCodecPreferences(preferred)
            aiortc_internals.tap_receiver(
                transceiver.receiver,
                lambda codec, data, ts: holder[0]._on_aiortc_frame(codec, data, ts) if holder else None,
            )
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as exc:  # aiortc: ValueError, OperationError, InvalidStateError
                raise BadSdp(f"the offer cannot be negotiated: {exc}") from exc
            codec_name, _ = aiortc_internals.negotiated_codec(transceiver)
            leg = cls(leg_id, pc, codec_name)
            holder.append(leg)
            leg._use_packet_path(transceiver)
            transceiver.sender.replaceTrack(PortTrack(leg.port))  # yields nothing: the port pushes
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await pc.close()
            raise
        return leg, pc.localDescription.sdp

    async def _close(self) -> None:
        if self.path is not None:
            self.path.close()
        await self.pc.close()
