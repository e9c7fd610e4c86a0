"""WebRTC legs: an aiortc peer connection per participant, ending at the switch.

The client offers (audio sendrecv, optionally a data channel labelled ``dtmf``); the switch
answers with its codec preference, taps the receiver for encoded frames and sends the leg's
port as a track of ``av.Packet`` s. Offers are validated first: exactly one audio section,
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

    @classmethod
    async def answer(cls, leg_id: str, offer_sdp: str, config: MediaConfig) -> tuple[WebRtcLeg, str]:
        """Accept a client's offer; returns the leg and the SDP answer."""
        validate_offer(offer_sdp)
        pc = RTCPeerConnection(rtc_configuration(config))
        holder: list[Leg] = []
        try:
            transceiver = pc.addTransceiver("audio", direction="sendrecv")
            caps = RTCRtpSender.getCapabilities("audio")
            assert caps is not None
            preferred = [codec for name in config.codecs for codec in caps.codecs if codec.name.lower() == name.lower()]
            transceiver.setCodecPreferences(preferred)
            aiortc_internals.tap_receiver(
                transceiver.receiver,
                lambda codec, data, ts: holder[0].deliver(codec, data, ts) if holder else None,
            )
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as exc:  # aiortc: ValueError, OperationError, InvalidStateError
                raise BadSdp(f"the offer cannot be negotiated: {exc}") from exc
            codec_name, _ = aiortc_internals.negotiated_codec(transceiver)
            leg = cls(leg_id, pc, codec_name)
            holder.append(leg)
            transceiver.sender.replaceTrack(PortTrack(leg.port))
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await pc.close()
            raise
        return leg, pc.localDescription.sdp

    async def _close(self) -> None:
        await self.pc.close()
