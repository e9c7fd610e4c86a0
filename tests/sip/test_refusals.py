"""What the carrier hears when the center cannot take a call (issue 15, point 7): the edge's
user agent on a real socket, central played by a small HTTP server that refuses the route.

* no site can take the call (``route.no_site``), central over capacity (``route.busy``),
  unreachable -> 503 Service Unavailable, quickly (``sip.route_patience_s``), so the carrier
  may try another route;
* the caller calls too often (``route.rate_limited``) -> 486 Busy Here.

Each is also placed by SIPp (``loadtests/sip/uac_refused.xml``, which ACKs the refusal)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from cluster.tokens import TokenSigner
from site_node.sip.config import SipConfig
from site_node.sip.ua import SipUserAgent
from tests.sip.test_user_agent import SDP, request

ROOT = Path(__file__).resolve().parents[2]
REFUSALS = {"route.no_site": (503, 503), "route.busy": (503, 503), "route.rate_limited": (429, 486)}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Central:
    """Answers every route request with the refusal ``error_id`` (and counts them)."""

    def __init__(self) -> None:
        self.error_id = "route.no_site"
        self.requests = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _route(self, request: web.Request) -> web.Response:
        self.requests += 1
        status = REFUSALS[self.error_id][0]
        return web.json_response({"error_id": self.error_id, "message": "refused by the test"}, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/calls", self._route)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def edge() -> AsyncIterator[tuple[SipUserAgent, Central]]:
    central = Central()
    await central.start()
    config = SipConfig(port=free_port(), central_urls=[central.url], route_patience_s=0.5)
    ua = SipUserAgent(config, TokenSigner("s" * 32))
    await ua.start()
    yield ua, central
    await ua.stop()
    await central.stop()


async def final_response(ua: SipUserAgent, data: bytes, timeout_s: float = 10.0) -> int:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        await loop.sock_sendto(sock, data, ("127.0.0.1", ua.config.port))
        async with asyncio.timeout(timeout_s):
            while True:
                status = int((await loop.sock_recv(sock, 65536)).split(b" ", 2)[1])
                if status >= 200:
                    return status


@pytest.mark.parametrize("error_id", sorted(REFUSALS))
async def test_a_refused_route_is_the_right_sip_answer(edge: tuple[SipUserAgent, Central], error_id: str) -> None:
    ua, central = edge
    central.error_id = error_id
    started = time.monotonic()
    assert await final_response(ua, request("INVITE", body=SDP)) == REFUSALS[error_id][1]
    assert time.monotonic() - started < 3.0, "the carrier waits too long for a refusal"
    assert central.requests >= 1


async def test_central_unreachable_is_503(edge: tuple[SipUserAgent, Central]) -> None:
    ua, central = edge
    await central.stop()
    assert await final_response(ua, request("INVITE", body=SDP)) == 503


@pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (apt sip-tester) is needed")
@pytest.mark.parametrize("error_id", ["route.no_site", "route.rate_limited"])
async def test_sipp_acks_the_refusal(edge: tuple[SipUserAgent, Central], error_id: str) -> None:
    ua, central = edge
    central.error_id = error_id
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(ROOT / "loadtests" / "sip" / "uac_refused.xml"), "-s", "95589", "-m", "1",
        "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-nostdin", "-timeout", "15s", f"127.0.0.1:{ua.config.port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 25)
    assert proc.returncode == 0, out.decode(errors="replace")[-1500:]
    await asyncio.sleep(0.2)
    assert all(call.ended.is_set() for call in ua.calls.values()), "a refused call is left open"
