"""The edge's user agent on a real UDP socket, without a cluster: what it answers to requests
it can decide alone (OPTIONS, a malformed or too large message, a number outside the dial plan,
a BYE for no call) -- and that none of them starts a call."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from cluster.errors import ConfigError
from cluster.tokens import TokenSigner
from site_node.sip.config import SipConfig
from site_node.sip.ua import SipUserAgent

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\n"


def request(method: str, user: str = "95589", *, cseq: str | None = None, body: str = "", extra: str = "") -> bytes:
    head = (
        f"{method} sip:{user + '@' if user else ''}127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK{method}{user}\r\n"
        f"From: <sip:+861380000@127.0.0.1>;tag=a\r\nTo: <sip:{user}@127.0.0.1>\r\nCall-ID: c-{method}-{user}\r\n"
        f"CSeq: {cseq or '1 ' + method}\r\n{extra}"
    )
    if body:
        head += "Content-Type: application/sdp\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n{body}".encode()


@pytest.fixture
async def ua() -> AsyncIterator[SipUserAgent]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = SipUserAgent(SipConfig(port=port, central_urls=["http://127.0.0.1:9"]), TokenSigner("s" * 32))
    await agent.start()
    yield agent
    await agent.stop()


async def exchange(ua: SipUserAgent, data: bytes) -> tuple[int, str]:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        await loop.sock_sendto(sock, data, ("127.0.0.1", ua.config.port))
        async with asyncio.timeout(2):
            reply = await loop.sock_recv(sock, 65536)
    _, status, reason = reply.split(b"\r\n", 1)[0].decode().split(" ", 2)  # the reply echoes what was wrong
    return int(status), reason


@pytest.mark.parametrize(
    ("data", "status", "why"),
    [
        (request("OPTIONS", ""), 200, "OK"),
        (request("INVITE", cseq="x INVITE", body=SDP), 400, "CSeq"),
        (request("INVITE", cseq="1 BYE", body=SDP), 400, "CSeq method"),
        (request("INVITE", body=SDP).replace(b"Call-ID", b"Call-Xd"), 400, "missing Call-ID"),
        (request("INVITE", body=SDP, extra="X-Huge: " + "a" * 3000 + "\r\n"), 513, "longer than"),
        (request("INVITE", "12345", body=SDP), 404, "Not Found"),
        (request("INVITE", body=SDP.replace("0 101", "18")), 488, "neither PCMU nor PCMA"),
        (request("BYE"), 481, "Does Not Exist"),
        (request("REGISTER"), 501, "Not Implemented"),
    ],
    ids=["options", "cseq", "cseq-method", "no-call-id", "huge-header", "not-in-plan", "no-codec", "bye", "register"],
)
async def test_answers_and_no_call_started(ua: SipUserAgent, data: bytes, status: int, why: str) -> None:
    got, reason = await exchange(ua, data)
    assert got == status and why in reason
    assert ua.calls == {}


def test_config_names_the_bad_key() -> None:
    from cluster.config import load_settings
    from site_node.sip.config import SipSettings

    with pytest.raises(ConfigError, match=r"sip\.numbers"):
        load_settings(None, overrides={"sip": {"numbers": ["95589", "9x"]}}, model=SipSettings)
