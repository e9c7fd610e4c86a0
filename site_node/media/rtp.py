"""RTP legs: plain RTP audio (PCMU/PCMA, 20 ms) with RFC 4733 digits, ending at the switch.

The SIP edge (:mod:`site_node.sip`) holds the carrier's dialog and relays its RTP here; to the
switch an RTP leg is a leg like a WebRTC one (bridges, prompts, music, recording, taps).

* receive: one UDP socket per leg; audio packets go through a small jitter buffer played out on
  the switch's 20 ms tick (reordered packets are put back in order, a lost one is a gap);
  telephone-events become digits (:meth:`Leg.deliver_digit`, ``how="rfc2833"``), each key once;
  comfort noise and unknown payload types are ignored;
* send: the leg's port (whatever the call's topology points at it) is packed as RTP on one
  continuous timeline; :meth:`RtpLeg.send_digits` sends keys as telephone-events (audio pauses
  while a key is sent, as RFC 4733 asks).

RTCP is not sent yet (the edge's relay carries the carrier's own).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterator
from typing import Any

from cluster.tasks import TaskOwner
from site_node.media.codecs import codec_by_name
from site_node.media.errors import BadSdp, LegClosed
from site_node.media.legs import Leg
from site_node.media.rtp_sdp import RtpMedia, answer_media, build_sdp, parse_sdp
from site_node.media.rtp_wire import BadPacket, EventReceiver, RtpPacket, event_packets, parse_rtp
from site_node.media.tasks import Ticker

logger = logging.getLogger(__name__)


class JitterBuffer:
    """Reorders packets by sequence number and releases one per tick after ``depth`` frames.

    A packet older than the one last released is dropped (late); a missing packet is skipped
    once later ones are waiting (a gap); a buffer past ``max_depth`` (the far end's clock runs
    fast) sheds its oldest packets."""

    def __init__(self, *, depth: int = 2, max_depth: int = 8) -> None:
        self.depth = depth
        self.max_depth = max_depth
        self._packets: dict[int, RtpPacket] = {}
        self._next: int | None = None
        self._playing = False
        self.late = 0
        self.lost = 0
        self.shed = 0

    def __len__(self) -> int:
        return len(self._packets)

    def add(self, packet: RtpPacket) -> None:
        seq = packet.sequence
        if self._next is not None and (seq - self._next) & 0x8000:
            self.late += 1
            return
        self._packets[seq] = packet
        if self._next is None:
            self._next = seq

    def pop(self) -> RtpPacket | None:
        if not self._packets or self._next is None:
            self._playing = False
            return None
        if not self._playing:
            if len(self._packets) < self.depth:
                return None
            self._playing = True
        while len(self._packets) > self.max_depth:
            self._packets.pop(self._oldest())
            self.shed += 1
            self._next = self._oldest()
        packet = self._packets.pop(self._next, None)
        if packet is None:
            self.lost += 1
        self._next = (self._next + 1) & 0xFFFF
        if packet is None and self._packets and self._next not in self._packets:
            self._next = self._oldest()  # a longer gap: jump to what is there
        return packet

    def _oldest(self) -> int:
        assert self._next is not None
        base = self._next
        return min(self._packets, key=lambda seq: (seq - base) & 0xFFFF)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.leg: RtpLeg | None = None  # set once the socket is bound and the leg made

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.leg is not None:
            self.leg._received(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("rtp leg %s: %s", self.leg.leg_id if self.leg else "-", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.leg is not None:
            self.leg._mark_ended("closed")


class RtpLeg(Leg):
    def __init__(self, leg_id: str, local: RtpMedia, remote: RtpMedia, ticker: Ticker) -> None:
        pt, codec = local.first_codec
        super().__init__(leg_id, codec_by_name(codec))
        self.local = local
        self.remote = remote
        self.payload_type = pt
        self.event_pt = local.event_pt
        self._ticker = ticker
        self._transport: asyncio.DatagramTransport | None = None
        self._jitter = JitterBuffer()
        self._events = EventReceiver()
        self._tasks = TaskOwner(f"rtp-{leg_id}")
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._ts_base = secrets.randbits(32)
        self._last_ts = self._ts_base
        self._sending_digit = False
        self.packets_in = 0
        self.packets_out = 0
        self.bad_packets = 0
        self.digits_sent = ""

    @classmethod
    async def answer(
        cls, leg_id: str, offer_sdp: str, ticker: Ticker, *, host: str, ports: range | None = None
    ) -> tuple[RtpLeg, str]:
        """Accept a plain-RTP offer: bind a socket, return the leg and the SDP answer."""
        remote = parse_sdp(offer_sdp)
        loop = asyncio.get_running_loop()
        transport = protocol = None
        last: OSError | None = None
        for port in _candidates(ports):
            try:
                transport, protocol = await loop.create_datagram_endpoint(_Protocol, local_addr=(host, port))
                break
            except OSError as exc:
                last = exc
        if transport is None or protocol is None:
            raise BadSdp(f"no free RTP port on {host}: {last}")
        bound = transport.get_extra_info("sockname")[1]
        try:
            local = answer_media(remote, host, bound)
        except BadSdp:
            transport.close()
            raise
        leg = cls(leg_id, local, remote, ticker)
        protocol.leg = leg
        leg._transport = transport
        ticker.add(leg)
        leg._tasks.spawn(leg._send_loop(), "send")
        return leg, build_sdp(local)

    # ------------------------------------------------------------ receiving
    def _received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            packet = parse_rtp(data)
            if packet.payload_type == self.payload_type:
                self.packets_in += 1
                self._jitter.add(packet)
            elif packet.payload_type == self.event_pt and self.event_pt is not None:
                key = self._events.key(packet)
                if key is not None:
                    self.deliver_digit(key, "rfc2833")
        except BadPacket:
            self.bad_packets += 1

    def on_tick(self) -> None:
        packet = self._jitter.pop()
        if packet is not None:
            self.deliver(self.spec.name, packet.payload, packet.timestamp)

    @property
    def lost(self) -> int:
        return self._jitter.lost

    # ------------------------------------------------------------ sending
    def _send(self, payload_type: int, timestamp: int, payload: bytes, *, marker: bool = False) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        packet = RtpPacket(payload_type, self._seq, timestamp, self._ssrc, payload, marker)
        self._seq = (self._seq + 1) & 0xFFFF
        self._transport.sendto(packet.to_bytes(), (self.remote.host, self.remote.port))
        self.packets_out += 1

    async def _send_loop(self) -> None:
        first = True
        while True:
            try:
                frame = await self.port.next_packet()
            except LegClosed:
                return
            self._last_ts = (self._ts_base + int(frame.pts or 0)) & 0xFFFFFFFF
            if not self._sending_digit:
                self._send(self.payload_type, self._last_ts, bytes(frame), marker=first)
                first = False

    async def send_digits(self, digits: str) -> None:
        """Send keys as RFC 4733 telephone-events (100 ms each, 100 ms apart)."""
        if self.event_pt is None:
            raise BadSdp("the far end did not offer telephone-event", leg_id=self.leg_id)
        for digit in digits.upper():
            self._sending_digit = True
            try:
                timestamp = self._last_ts
                for i, event in enumerate(event_packets(digit, frame_ticks=self.spec.frame_ticks)):
                    self._send(self.event_pt, timestamp, event.to_bytes(), marker=i == 0)
                    await asyncio.sleep(0.02)
            finally:
                self._sending_digit = False
            self.digits_sent += digit
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------ life cycle
    async def _close(self) -> None:
        self._ticker.remove(self)
        await self._tasks.stop()
        if self._transport is not None:
            self._transport.close()


def _candidates(ports: range | None) -> Iterator[int]:
    if not ports:
        yield 0
        return
    start = secrets.randbelow(len(ports))
    for i in range(len(ports)):
        port = ports[(start + i) % len(ports)]
        if port % 2 == 0:  # RTP on even ports (RFC 3550), RTCP would take the odd one above
            yield port
