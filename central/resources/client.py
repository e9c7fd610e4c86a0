"""The executor's HTTP client over aiohttp (one pooled session, owned: ``start``/``stop``)."""

from __future__ import annotations

from typing import Any

import aiohttp


class AiohttpClient:
    def __init__(self, *, connections: int = 100) -> None:
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.connections))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, method: str, url: str, body: dict[str, Any] | None, timeout_s: float) -> tuple[int, str]:
        if self._session is None:
            await self.start()
        assert self._session is not None
        async with self._session.request(method, url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
            return r.status, await r.text()
