"""SDP for plain RTP audio (RFC 4566 / 3264): what a SIP trunk offers, and our answer.

One audio section, ``RTP/AVP`` (no DTLS, no ICE), G.711 and telephone-event. Static payload
types 0 (PCMU) and 8 (PCMA) need no ``rtpmap``; telephone-event is dynamic. Anything else in
the offer is ignored; an offer with no codec we speak is refused (:class:`BadSdp`).
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from site_node.media.errors import BadSdp

MAX_SDP_BYTES = 16 * 1024
STATIC_TYPES = {0: "PCMU", 8: "PCMA"}
AUDIO_CODECS = ("PCMU", "PCMA")
EVENT_CODEC = "telephone-event"


@dataclass(frozen=True, slots=True)
class RtpMedia:
    """One side's audio: where it receives, and its payload types in preference order."""

    host: str
    port: int
    codecs: tuple[tuple[int, str], ...]  # (payload type, codec name): audio codecs only
    event_pt: int | None  # telephone-event's payload type, if offered
    direction: str = "sendrecv"

    @property
    def first_codec(self) -> tuple[int, str]:
        return self.codecs[0]


def parse_sdp(sdp: str) -> RtpMedia:
    """The audio section of a plain-RTP SDP, or :class:`BadSdp` saying what is wrong."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise BadSdp("the SDP is empty")
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise BadSdp(f"the SDP is larger than {MAX_SDP_BYTES} bytes")
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0":
        raise BadSdp("the SDP does not start with v=0")
    session_host: str | None = None
    media_host: str | None = None
    audio: list[str] | None = None
    sections = 0
    current_audio = False
    rtpmap: dict[int, str] = {}
    direction = "sendrecv"
    for line in lines:
        key, _, value = line.partition("=")
        if key == "m":
            sections += 1
            parts = value.split()
            current_audio = bool(parts) and parts[0] == "audio"
            if current_audio:
                if audio is not None:
                    raise BadSdp("the SDP has more than one audio section")
                audio = parts
            continue
        in_audio = current_audio
        if key == "c":
            address = _connection_host(value)
            if in_audio:
                media_host = address
            elif sections == 0:
                session_host = address
        elif key == "a" and in_audio:
            name, _, rest = value.partition(":")
            if name == "rtpmap":
                number, _, encoding = rest.partition(" ")
                if number.isdigit():
                    rtpmap[int(number)] = encoding.split("/")[0]
            elif name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = name
    if audio is None:
        raise BadSdp("the SDP has no audio section")
    if len(audio) < 4 or not audio[1].isdigit():
        raise BadSdp("the audio section's m= line is malformed")
    if audio[2] != "RTP/AVP":
        raise BadSdp(f"transport {audio[2]} is not plain RTP (RTP/AVP)")
    port = int(audio[1])
    if not 0 < port < 65536:
        raise BadSdp(f"audio port {port} is out of range")
    host = media_host or session_host
    if host is None:
        raise BadSdp("the SDP has no connection address (c=)")
    codecs: list[tuple[int, str]] = []
    event_pt = None
    for token in audio[3:]:
        if not token.isdigit():
            raise BadSdp(f"payload type {token[:8]!r} is not a number")
        pt = int(token)
        name = rtpmap.get(pt) or STATIC_TYPES.get(pt, "")
        if name.upper() in AUDIO_CODECS:
            codecs.append((pt, name.upper()))
        elif name.lower() == EVENT_CODEC and event_pt is None:
            event_pt = pt
    if not codecs:
        raise BadSdp("the SDP offers neither PCMU nor PCMA")
    return RtpMedia(host, port, tuple(codecs), event_pt, direction)


def _connection_host(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise BadSdp(f"connection line {value[:40]!r} is malformed")
    address = parts[2].split("/")[0]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise BadSdp(f"connection address {address[:40]!r} is not an IP address") from None
    return address


def build_sdp(media: RtpMedia, *, session_id: int | None = None, name: str = "callcenter") -> str:
    """Our SDP (an offer or an answer) for ``media``, 20 ms packets."""
    family = "IP6" if ":" in media.host else "IP4"
    sid = session_id if session_id is not None else secrets.randbelow(2**31)
    pts = [pt for pt, _ in media.codecs] + ([media.event_pt] if media.event_pt is not None else [])
    lines = [
        "v=0",
        f"o=- {sid} {sid} IN {family} {media.host}",
        f"s={name}",
        f"c=IN {family} {media.host}",
        "t=0 0",
        f"m=audio {media.port} RTP/AVP {' '.join(str(pt) for pt in pts)}",
    ]
    lines += [f"a=rtpmap:{pt} {codec}/8000" for pt, codec in media.codecs]
    if media.event_pt is not None:
        lines += [f"a=rtpmap:{media.event_pt} {EVENT_CODEC}/8000", f"a=fmtp:{media.event_pt} 0-15"]
    lines += ["a=ptime:20", f"a={media.direction}"]
    return "\r\n".join(lines) + "\r\n"


def answer_media(offer: RtpMedia, host: str, port: int, preference: tuple[str, ...] = AUDIO_CODECS) -> RtpMedia:
    """Our answer to ``offer``: the first codec of ours it offers (one), and its telephone-event."""
    offered = {name: pt for pt, name in reversed(offer.codecs)}
    for name in preference:
        if name in offered:
            return RtpMedia(host, port, ((offered[name], name),), offer.event_pt)
    raise BadSdp(f"the SDP offers none of {', '.join(preference)}")
