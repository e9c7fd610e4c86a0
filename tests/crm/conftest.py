"""A real CRM server (central's business routes on loopback) over SQLite or a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp
import pytest
from aiohttp import web

from central.business.config import BusinessConfig
from central.crm.api import CrmApi
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.http import make_app
from cluster.tokens import TokenSigner
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401

SECRET = "s" * 48
SALT = "a" * 32


class BusinessPart(Protocol):
    """Another business API served beside the CRM on its database (campaigns, work orders)."""

    def install(self, app: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class CrmServer:
    url: str
    api: CrmApi
    signer: TokenSigner
    parts: list[BusinessPart]

    def bearer(self, role: str, who: str = "north-05") -> dict[str, str]:
        return {"Authorization": "Bearer " + self.signer.issue("agent", who, role=role)}

    async def add(self, customer: Mapping[str, object], *, pin: str | None = None) -> None:
        """Create a customer (and set its PIN) through the API, as a team leader would."""
        async with aiohttp.ClientSession() as http:
            async with http.post(self.url + "/v1/customers", json=customer, headers=self.bearer("team_leader")) as r:
                assert r.status == 201, await r.text()
            if pin is not None:
                path = f"{self.url}/v1/customers/{customer['customer_number']}/pin"
                async with http.put(path, json={"pin": pin}, headers=self.bearer("team_leader")) as r:
                    assert r.status == 200, await r.text()


async def serve(url: str, secret: str = SECRET, clock: Clock = SYSTEM_CLOCK,
                parts: Callable[[CrmApi, TokenSigner], list[BusinessPart]] = lambda *_: []
                ) -> AsyncIterator[CrmServer]:  # fmt: skip
    signer = TokenSigner(secret, ttl_s=3600, clock=clock)
    config = BusinessConfig(database_url=url, account_salt=SALT)
    api = CrmApi(config, signer, replica="central-t", max_body_bytes=65536, clock=clock)
    others = parts(api, signer)
    app = make_app(lambda: {"ok": True})
    api.install(app)
    for part in others:
        part.install(app)
    await api.start()
    for part in others:
        await part.start()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield CrmServer(f"http://127.0.0.1:{port}", api, signer, others)
    finally:
        await runner.cleanup()
        for part in reversed(others):
            await part.stop()
        await api.stop()


@pytest.fixture
async def crm(tmp_path: Path) -> AsyncIterator[CrmServer]:
    async for server in serve(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}"):
        yield server


@pytest.fixture
async def crm_pg(request: pytest.FixtureRequest) -> AsyncIterator[CrmServer]:
    server_url = str(request.getfixturevalue("postgres_url"))
    url = await create_database(server_url)
    try:
        async for server in serve(url):
            yield server
    finally:
        await drop_database(server_url, url)
