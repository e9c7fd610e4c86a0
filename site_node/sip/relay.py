"""The edge's RTP relay: packets between the carrier and the site's RTP leg, not transcoded.

Two sockets per call: one the carrier sends to (its address never changes for the whole call,
failovers included), one the site's leg sends to. Toward the site packets go as they came;
toward the carrier the relay keeps one SSRC, one sequence and one timeline, so a new site after
a failover (a new SSRC, sequence and timestamps) looks to the carrier like one stream.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from site_node.media.rtp_wire import BadPacket, RtpPacket, parse_rtp


class _Side(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Any) -> None:
        self._on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._on_packet(data, addr)


class RtpRelay:
    def __init__(self, host: str, ports: range | None = None) -> None:
        self.host = host
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
