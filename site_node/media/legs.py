"""A leg: one participant's audio in and out, whatever carries it.

The transport (WebRTC today, SIP/RTP later) calls :meth:`Leg.deliver` with each received
*encoded* frame and sends whatever :attr:`Leg.port` yields (a transport with a packet path sets
the port's sink and gets every frame pushed, see :mod:`site_node.media.rtp_stream`). The switch
never looks further into the transport. A frame is first handed to the ports that forward this
leg as it is (same codec: its bytes go out unchanged), and only then decoded, and only while
someone listens to the leg's PCM (digit collection, mixing, recording, taps, transcoding).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from site_node.media.codecs import AudioDecoder, AudioEncoder, CodecSpec, Pcm, codec_by_name
from site_node.media.ports import OutboundPort

logger = logging.getLogger(__name__)

DIGITS = frozenset("0123456789*#ABCD")
DigitListener = Callable[[str, str], None]  # (digit, how: "inband" | "datachannel" | ...)


class PcmListener(Protocol):
    def push(self, pcm: Pcm) -> None: ...


class Leg:
    """Transport-independent participant. Subclasses close their transport in ``_close``."""

    def __init__(self, leg_id: str, spec: CodecSpec) -> None:
        self.leg_id = leg_id
        self.spec = spec
        self.port = OutboundPort(leg_id, spec)
        self._forward: dict[int, OutboundPort] = {}
        self._forward_to: tuple[OutboundPort, ...] = ()
        self._pcm: dict[int, PcmListener] = {}
        self._decoders: dict[str, AudioDecoder] = {}
        self._digit_listeners: dict[int, DigitListener] = {}
        self._ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.frames_in = 0
        self.frames_decoded = 0
        self.frames_forwarded = 0  # frames offered as they are to ports forwarding this leg

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.leg_id} {self.spec.name}>"

    # ------------------------------------------------------------ inbound
    def deliver(self, codec_name: str, payload: bytes, timestamp: int) -> None:
        """One received encoded frame (called by the transport, on the event loop)."""
        self.frames_in += 1
        if codec_name == self.spec.name or codec_name.lower() == self.spec.name.lower():
            for port in self._forward_to:
                port.offer(payload, self, timestamp)
            self.frames_forwarded += len(self._forward_to)
        if self._pcm:
            decoder = self._decoders.get(codec_name)
            if decoder is None:
                decoder = self._decoders[codec_name] = AudioDecoder(codec_by_name(codec_name))
            pcm = decoder.decode(payload)
            self.frames_decoded += 1
            if len(pcm):
                for listener in list(self._pcm.values()):
                    listener.push(pcm)

    def deliver_digit(self, digit: str, how: str) -> None:
        """A digit signalled out of band (data channel, RFC 2833 on a SIP leg)."""
        for char in digit.upper():
            if char in DIGITS:
                for listener in list(self._digit_listeners.values()):
                    listener(char, how)

    # ------------------------------------------------------------ as a forwarding source
    def attach(self, port: OutboundPort) -> None:
        if port.spec != self.spec:
            raise ValueError(f"cannot forward {self.spec.name} into a {port.spec.name} port")
        self._forward[id(port)] = port
        self._forward_to = tuple(self._forward.values())

    def detach(self, port: OutboundPort) -> None:
        self._forward.pop(id(port), None)
        self._forward_to = tuple(self._forward.values())

    # ------------------------------------------------------------ decoded audio
    def add_pcm_listener(self, listener: PcmListener) -> None:
        self._pcm[id(listener)] = listener

    def remove_pcm_listener(self, listener: PcmListener) -> None:
        self._pcm.pop(id(listener), None)
        if not self._pcm:
            self._decoders.clear()  # decoding stops; a new listener starts a fresh decoder

    @property
    def decoding(self) -> bool:
        return bool(self._pcm)

    def add_digit_listener(self, listener: DigitListener) -> None:
        self._digit_listeners[id(listener)] = listener

    def remove_digit_listener(self, listener: DigitListener) -> None:
        self._digit_listeners.pop(id(listener), None)

    # ------------------------------------------------------------ life cycle
    @property
    def ended(self) -> asyncio.Future[str]:
        """Resolves with the reason once the leg has ended."""
        return self._ended

    def _mark_ended(self, reason: str) -> None:
        if not self._ended.done():
            self._ended.set_result(reason)

    async def close(self, reason: str = "hangup") -> None:
        self.port.close()
        self._forward.clear()
        self._forward_to = ()
        self._pcm.clear()
        self._digit_listeners.clear()
        self._mark_ended(reason)
        await self._close()

    async def _close(self) -> None:
        return None


class Transcoder:
    """Source for a port whose codec differs from the leg it hears (or forced decode path)."""

    def __init__(self, leg: Leg, spec: CodecSpec) -> None:
        self.leg = leg
        self._encoder = AudioEncoder(spec)
        self._port: OutboundPort | None = None

    def attach(self, port: OutboundPort) -> None:
        self._port = port
        self.leg.add_pcm_listener(self)

    def detach(self, port: OutboundPort) -> None:
        if self._port is port:
            self.leg.remove_pcm_listener(self)
            self._port = None

    def push(self, pcm: Pcm) -> None:
        port = self._port
        if port is None:
            return
        for payload in self._encoder.encode(pcm):
            port.offer(payload, self)
