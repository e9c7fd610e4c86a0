"""Plain RTP on the wire (RFC 3550) and RFC 4733 telephone-events, shared by the site's RTP leg
and the SIP edge's relay.

Only what an audio trunk needs: the fixed 12-byte header (CSRCs and header extensions are
skipped on receive, never sent), and the 4-byte telephone-event payload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
_HEADER = struct.Struct("!BBHII")
EVENT_DIGITS = "0123456789*#ABCD"  # RFC 4733 event codes 0..15


class BadPacket(ValueError):
    """A datagram that is not an RTP packet we can use (dropped and counted, never fatal)."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        first = RTP_VERSION << 6
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        header = _HEADER.pack(first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc)
        return header + self.payload


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < _HEADER.size:
        raise BadPacket("shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise BadPacket("not RTP version 2")
    offset = _HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            raise BadPacket("truncated header extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte says how much
        end -= data[-1]
    if end < offset:
        raise BadPacket("truncated packet")
    payload_type = second & 0x7F
    if 72 <= payload_type <= 76:  # RTCP on the RTP port (rtcp-mux): not media
        raise BadPacket("an RTCP packet")
    return RtpPacket(payload_type, sequence, timestamp, ssrc, bytes(data[offset:end]), bool(second & 0x80))


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    digit: str
    end: bool
    volume: int
    duration: int  # RTP clock ticks since the event began

    def to_bytes(self) -> bytes:
        code = EVENT_DIGITS.index(self.digit)
        return struct.pack("!BBH", code, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration & 0xFFFF)


def parse_event(payload: bytes) -> TelephoneEvent | None:
    """The event of an RFC 4733 payload, or None for an event that is not a key (flash, tones)."""
    if len(payload) < 4:
        raise BadPacket("telephone-event payload shorter than 4 bytes")
    code, flags, duration = struct.unpack_from("!BBH", payload)
    if code >= len(EVENT_DIGITS):
        return None
    return TelephoneEvent(EVENT_DIGITS[code], bool(flags & 0x80), flags & 0x3F, duration)


class EventReceiver:
    """Turns a stream of telephone-event packets into key presses, each reported once.

    An event is identified by its RTP timestamp (all its packets share it); the end packet is
    sent three times and the first packets may be lost, so a key counts at its first packet
    seen and never again for that timestamp."""

    def __init__(self) -> None:
        self._seen: list[int] = []

    def key(self, packet: RtpPacket) -> str | None:
        event = parse_event(packet.payload)
        if event is None or packet.timestamp in self._seen:
            return None
        self._seen = [*self._seen[-7:], packet.timestamp]
        return event.digit


def event_packets(
    digit: str, *, frame_ticks: int = 160, tone_frames: int = 5, volume: int = 10
) -> list[TelephoneEvent]:
    """The payloads of one key press, one per 20 ms (a 100 ms tone), the end sent three times."""
    if digit not in EVENT_DIGITS:
        raise ValueError(f"not a telephone-event key: {digit!r}")
    events = [TelephoneEvent(digit, False, volume, frame_ticks * (i + 1)) for i in range(tone_frames - 1)]
    last = TelephoneEvent(digit, True, volume, frame_ticks * tone_frames)
    return [*events, last, last, last]
