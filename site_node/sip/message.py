"""SIP messages (RFC 3261 section 7) as the edge needs them: parse, build responses and requests.

Parsing is strict where acting on a message needs it: a start line, ``Via``, ``From``, ``To``,
``Call-ID``, ``CSeq`` (a number and the request's method), a ``Content-Length`` that matches.
Anything else wrong raises :class:`BadMessage` (the UA answers 400 when it can address a
response, else drops the datagram); a message over :data:`MAX_MESSAGE_BYTES` or with a header
line over :data:`MAX_HEADER_BYTES` is :class:`TooLarge` (513).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from site_node.sip.errors import BadMessage, TooLarge

MAX_MESSAGE_BYTES = 16 * 1024
MAX_HEADER_BYTES = 2048
MAX_HEADERS = 64
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type", "k": "supported", "s": "subject"}  # fmt: skip
REQUIRED = ("via", "from", "to", "call-id", "cseq")
_METHOD = re.compile(r"^[A-Z]{2,16}$")
_URI = re.compile(
    r"^sips?:(?:(?P<user>[^@;>]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
)
REASONS = {
    100: "Trying", 180: "Ringing", 200: "OK", 400: "Bad Request", 404: "Not Found",
    481: "Call/Transaction Does Not Exist", 484: "Address Incomplete", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable", 513: "Message Too Large",
}  # fmt: skip


@dataclass
class SipMessage:
    method: str | None  # a request's method; None for a response
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # (lower-case name, value), in order
    body: str = ""

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def call_id(self) -> str:
        return self.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = (self.get("cseq") or "").partition(" ")
        return int(number), method.strip()

    @property
    def branch(self) -> str:
        return param(self.all("via")[0].split(",")[0], "branch") or ""

    def to_bytes(self) -> bytes:
        start = f"{self.method} {self.uri} SIP/2.0" if self.method else f"SIP/2.0 {self.status} {self.reason}"
        body = self.body.encode()
        lines = [start] + [f"{_canonical(k)}: {v}" for k, v in self.headers if k != "content-length"]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _canonical(name: str) -> str:
    special = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}
    return special.get(name, "-".join(part.capitalize() for part in name.split("-")))


def param(value: str, name: str) -> str | None:
    """A ``;name=value`` parameter of a header value (outside its ``<uri>``)."""
    tail = value.rsplit(">", 1)[-1] if ">" in value else value
    for part in tail.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == name:
            return val.strip()
    return None


def uri_of(value: str) -> str:
    """The URI of a name-addr (``"Bob" <sip:bob@h>;tag=x``) or addr-spec header value."""
    if "<" in value:
        return value.split("<", 1)[1].split(">", 1)[0].strip()
    return value.split(";", 1)[0].strip()


def split_uri(uri: str) -> tuple[str | None, str, int]:
    """(user, host, port) of a sip: URI; BadMessage if it is not one."""
    match = _URI.match(uri)
    if match is None:
        raise BadMessage(f"not a SIP URI: {uri[:60]!r}")
    port = int(match["port"]) if match["port"] else 5060
    return match["user"], match["host"].strip("[]"), port


def split_list(value: str) -> list[str]:
    """A comma-separated header value (Record-Route, Route) split outside ``<...>`` and quotes."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            depth += 1
        elif char == ">" and not quoted:
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p for p in [*parts, current.strip()] if p]


def parse(data: bytes, *, strict: bool = True) -> SipMessage:
    """One message; ``strict=False`` only splits it (to address a 400 about what is wrong)."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise TooLarge(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadMessage("message is not UTF-8") from None
    head, sep, body = text.partition("\r\n\r\n")
    if not sep:
        head, sep, body = text.partition("\n\n")
    lines = head.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    message = _start_line(start) if strict else SipMessage("?", uri=start)
    for line in lines[1:]:
        if len(line) > MAX_HEADER_BYTES:
            if not strict:
                continue  # only the headers that address a response matter then
            raise TooLarge(f"a header line is longer than {MAX_HEADER_BYTES} bytes")
        if line[:1] in (" ", "\t") and message.headers:  # folded continuation
            key, value = message.headers[-1]
            message.headers[-1] = (key, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            raise BadMessage(f"malformed header line {line[:40]!r}")
        key = name.strip().lower()
        message.headers.append((COMPACT.get(key, key), value.strip()))
        if len(message.headers) > MAX_HEADERS:
            raise TooLarge(f"more than {MAX_HEADERS} headers")
    if not strict:
        return message
    for name in REQUIRED:
        if message.get(name) is None:
            raise BadMessage(f"missing {_canonical(name)} header", header=name)
    number, _, method = (message.get("cseq") or "").partition(" ")
    if not number.strip().isdigit() or not _METHOD.match(method.strip()):
        raise BadMessage("malformed CSeq header", header="cseq")
    if message.method is not None and method.strip() != message.method:
        raise BadMessage("CSeq method differs from the request's", header="cseq")
    length = message.get("content-length")
    raw_body = body.encode()
    if length is not None:
        if not length.isdigit() or int(length) > len(raw_body):
            raise BadMessage("Content-Length does not match the body", header="content-length")
        raw_body = raw_body[: int(length)]
    message.body = raw_body.decode("utf-8", errors="replace")
    return message


def _start_line(start: str) -> SipMessage:
    parts = start.split(" ", 2)
    if len(parts) == 3 and parts[0] == "SIP/2.0":
        if not parts[1].isdigit() or not 100 <= int(parts[1]) <= 699:
            raise BadMessage("malformed status line")
        return SipMessage(None, status=int(parts[1]), reason=parts[2])
    if len(parts) != 3 or parts[2] != "SIP/2.0" or not _METHOD.match(parts[0]):
        raise BadMessage(f"malformed request line {start[:60]!r}")
    split_uri(parts[1])
    return SipMessage(parts[0], uri=parts[1])


def response(
    request: SipMessage,
    status: int,
    *,
    to_tag: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: str = "",
    reason: str | None = None,
) -> SipMessage:
    """A response to ``request``: its Via, From, Call-ID and CSeq, its To with ``to_tag``."""
    to = request.get("to") or ""
    if to_tag and param(to, "tag") is None and status > 100:
        to = f"{to};tag={to_tag}"
    copied = [(k, v) for k, v in request.headers if k == "via"]
    copied += [("from", request.get("from") or ""), ("to", to), ("call-id", request.call_id),
               ("cseq", request.get("cseq") or "")]  # fmt: skip
    if request.method == "INVITE" and 200 <= status < 300:
        copied += [(k, v) for k, v in request.headers if k == "record-route"]
    copied += headers or []
    if body:
        copied.append(("content-type", "application/sdp"))
    return SipMessage(None, status=status, reason=reason or REASONS.get(status, "Unknown"), headers=copied, body=body)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)
