"""A real webhook receiver for tests: aiohttp on loopback, answering 500 until ``healthy``."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

SECRET = "webhook-secret-for-the-test-0123"


@dataclass
class Receiver:
    url: str = ""
    healthy: bool = False
    attempts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts.append((dict(request.headers), body))
        if not self.healthy:
            return web.Response(status=500, text="down for maintenance")
        self.received.append(json.loads(body))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_post("/hook", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    try:
        yield state
    finally:
        await runner.cleanup()


def verify(headers: dict[str, str], body: bytes) -> bool:
    stamp = headers["X-CC-Timestamp"]
    expected = "v1=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return (
        hmac.compare_digest(expected, headers["X-CC-Signature"]) and json.loads(body)["id"] == headers["X-CC-Event-Id"]
    )
