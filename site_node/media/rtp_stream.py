"""Plain RTP at packet level: reading a received packet's header, writing an outgoing stream.

Transport-independent (no SRTP, no sockets): a WebRTC leg wraps these around its SRTP session,
a SIP/RTP leg can use them as they are. An :class:`RtpWriter` owns one outgoing stream (SSRC,
sequence numbers, timestamp origin, payload type); whatever feeds the leg's port (another leg's
packets, a prompt, music, a transcoder, a mixer) comes out as one continuous RTP stream.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable

_HEADER = struct.Struct("!BBHII")
SEQ_TS_SSRC = struct.Struct("!HII")
_EXT_LEN = struct.Struct("!H")

# (plain RTP packet, its RTP timestamp, payload length) -> sent?
RtpSend = Callable[[bytes, int, int], bool]


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 demultiplexing, as aiortc does it (payload types 192-208 are RTCP)."""
    return len(data) >= 2 and 192 <= data[1] <= 208


def read_header(packet: bytes) -> tuple[int, int, int, int]:
    """(payload type, sequence number, timestamp, SSRC) of an RTP packet (>= 12 bytes)."""
    seq, ts, ssrc = SEQ_TS_SSRC.unpack_from(packet, 2)
    return packet[1] & 0x7F, seq, ts, ssrc


def payload_of(packet: bytes) -> bytes:
    """The payload of an RTP packet: after CSRCs and header extensions, before padding."""
    first = packet[0]
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        (words,) = _EXT_LEN.unpack_from(packet, offset + 2)
        offset += 4 + 4 * words
    end = len(packet) - packet[-1] if first & 0x20 else len(packet)
    return packet[offset:end]


class SequenceFilter:
    """Drops duplicates and packets older than the newest one (the far end conceals them)."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: int | None = None

    def accept(self, seq: int) -> bool:
        last = self._last
        if last is not None:
            delta = (seq - last) & 0xFFFF
            if delta == 0 or delta >= 0x8000:
                return False
        self._last = seq
        return True


class RtpWriter:
    """One outgoing RTP stream: ``write(payload, pts, marker)`` builds and sends a packet.

    ``pts`` is the port's continuous timeline in the codec's RTP clock; the writer adds a
    random timestamp origin and numbers packets itself, so a change of source (forwarded
    packets, a prompt, music) never shows on the wire as anything but a marker bit.
    """

    def __init__(self, payload_type: int, ssrc: int, send: RtpSend) -> None:
        self.payload_type = payload_type & 0x7F
        self.ssrc = ssrc
        self._send = send
        self._seq = secrets.randbelow(0x8000)
        self._ts0 = secrets.randbits(32)
        self.sent = 0
        self.not_sent = 0

    def write(self, payload: bytes, pts: int, marker: bool = False) -> None:
        seq = self._seq = (self._seq + 1) & 0xFFFF
        ts = (self._ts0 + pts) & 0xFFFFFFFF
        second = self.payload_type | 0x80 if marker else self.payload_type
        if self._send(_HEADER.pack(0x80, second, seq, ts, self.ssrc) + payload, ts, len(payload)):
            self.sent += 1
        else:
            self.not_sent += 1
