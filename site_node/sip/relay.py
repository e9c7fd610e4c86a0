"""The edge's RTP relay: packets between the carrier and the site's RTP leg, not transcoded.

Two sockets per call: one the carrier sends to (its address never changes for the whole call,
failovers included), one the site's leg sends to. Toward the site packets go as they came;
toward the carrier the relay keeps one SSRC, one sequence and one timeline, so a new site after
a failover (a new SSRC, sequence and timestamps) looks to the carrier like one stream.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
import time
from collections.abc import Callable
from typing import Any

from site_node.media.rtp_wire import BadPacket, RtpPacket, parse_rtp

_HEAD = struct.Struct("!BBHII")


class StreamStats:
    """One direction's RTP as it arrives: packets, sequence gaps (lost), RFC 3550 jitter.

    A new SSRC (a new site after a failover) starts a new sequence: its first packet is no gap.
    Jitter is estimated on audio packets only (a telephone-event repeats its timestamp)."""

    __slots__ = ("_jitter", "_max_seq", "_ssrc", "_transit", "lost", "packets")

    def __init__(self) -> None:
        self.packets = 0
        self.lost = 0
        self._jitter = 0.0  # in 8 kHz RTP ticks
        self._ssrc: int | None = None
        self._max_seq: int | None = None
        self._transit: float | None = None

    def observe(self, data: bytes, arrival_s: float) -> None:
        if len(data) < _HEAD.size:
            return
        _, second, seq, timestamp, ssrc = _HEAD.unpack_from(data)
        self.packets += 1
        if ssrc != self._ssrc:
            self._ssrc, self._max_seq, self._transit = ssrc, None, None
        if self._max_seq is None:
            self._max_seq = seq
        else:
            ahead = (seq - self._max_seq) & 0xFFFF
            if 0 < ahead < 0x8000:  # in order (or after a gap); an older one is late, not new
                self.lost += ahead - 1
                self._max_seq = seq
        if second & 0x7F < 96:  # static audio payload types (PCMU 0, PCMA 8)
            transit = arrival_s * 8000 - timestamp
            if self._transit is not None:
                self._jitter += (abs(transit - self._transit) - self._jitter) / 16
            self._transit = transit

    @property
    def jitter_ms(self) -> float:
        return self._jitter / 8


class _Side(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Any) -> None:
        self._on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._on_packet(data, addr)


class RtpRelay:
    def __init__(self, host: str, ports: range | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self._clock = clock
        self.stats = {"to_site": StreamStats(), "to_carrier": StreamStats()}
        self._ports = ports
        self.carrier: asyncio.DatagramTransport | None = None
        self.site: asyncio.DatagramTransport | None = None
        self.carrier_remote: tuple[str, int] | None = None
        self.site_remote: tuple[str, int] | None = None
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._source: int | None = None  # the site stream's SSRC we follow
        self._offset = 0  # added to the site's timestamps
        self._last_out_ts: int | None = None
        self._last_in_ts = 0
        self.to_site = 0
        self.to_carrier = 0
        self.hold = False  # the carrier asked not to be sent media (sendonly/inactive): dropped

    async def open(self) -> RtpRelay:
        self.carrier = await self._bind(self._from_carrier)
        self.site = await self._bind(self._from_site)
        return self

    async def _bind(self, handler: Any) -> asyncio.DatagramTransport:
        loop = asyncio.get_running_loop()
        candidates = [0] if not self._ports else [p for p in self._ports if p % 2 == 0]
        start = secrets.randbelow(len(candidates))
        last: OSError | None = None
        for i in range(len(candidates)):
            try:
                port = candidates[(start + i) % len(candidates)]
                transport, _ = await loop.create_datagram_endpoint(lambda: _Side(handler), local_addr=(self.host, port))
                return transport
            except OSError as exc:
                last = exc
        raise OSError(f"no free RTP port on {self.host}: {last}")

    @staticmethod
    def port_of(transport: asyncio.DatagramTransport | None) -> int:
        assert transport is not None
        return int(transport.get_extra_info("sockname")[1])

    def _from_carrier(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.stats["to_site"].observe(data, self._clock())
        if self.site is not None and self.site_remote is not None:
            self.site.sendto(data, self.site_remote)
            self.to_site += 1

    def _from_site(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.carrier is None or self.carrier_remote is None or self.hold:
            return
        try:
            packet = parse_rtp(data)
        except BadPacket:
            return
        self.stats["to_carrier"].observe(data, self._clock())
        if packet.ssrc != self._source:  # a new site's stream: continue our timeline
            self._source = packet.ssrc
            if self._last_out_ts is not None:
                self._offset = (self._last_out_ts + 160 - packet.timestamp) & 0xFFFFFFFF
        timestamp = (packet.timestamp + self._offset) & 0xFFFFFFFF
        self._last_out_ts = timestamp
        out = RtpPacket(packet.payload_type, self._seq, timestamp, self._ssrc, packet.payload, packet.marker)
        self._seq = (self._seq + 1) & 0xFFFF
        self.carrier.sendto(out.to_bytes(), self.carrier_remote)
        self.to_carrier += 1

    def close(self) -> None:
        for transport in (self.carrier, self.site):
            if transport is not None:
                transport.close()
