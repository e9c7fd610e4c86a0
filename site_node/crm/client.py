"""A site's client of central's customers API (``/v1/customers``): replicas in turn, retries,
a bounded LRU read cache, call entries for the contact history.

The site calls as itself: an agent-kind token for ``site:<name>`` with the ``agent`` role
(``customers.read`` and ``customers.history`` in :mod:`cluster.roles`), signed with the cluster
secret and re-issued before it expires. Central audits every look-up under that name.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from cluster.clock import Clock
from cluster.errors import CallCenterError
from cluster.etcd import Etcd
from cluster.keys import Keyspace
from cluster.tls import client_session
from cluster.tokens import TokenSigner

_log = logging.getLogger(__name__)
TOKEN_TTL_S = 600.0
Centrals = Callable[[], Awaitable[list[str]]]


class CrmUnavailable(CallCenterError):
    """No central replica answered and the cache does not hold the answer."""

    error_id = "crm.unavailable"
    status = 503


class CallHistory(Protocol):
    async def append_call(self, customer_number: str, entry: Mapping[str, Any]) -> None: ...


class EtcdCentrals:
    """The URLs of the live central replicas, from their election keys in etcd (re-read at most
    every ``refresh_s``; the last list is kept while etcd does not answer)."""

    def __init__(self, etcd: Etcd, keys: Keyspace, clock: Clock, *, refresh_s: float = 5.0) -> None:
        self._etcd, self._prefix, self._clock, self._refresh_s = etcd, keys.election("central"), clock, refresh_s
        self._urls: list[str] = []
        self._read_at = float("-inf")

    async def __call__(self) -> list[str]:
        if self._clock.now() - self._read_at >= self._refresh_s or not self._urls:
            try:
                found, _ = await self._etcd.get_prefix(self._prefix, timeout=1.0)
                urls = [str(json.loads(kv.value).get("url", "")) for kv in found]
                self._urls, self._read_at = sorted(u for u in urls if u), self._clock.now()
            except (CallCenterError, ValueError, OSError) as exc:
                _log.warning("central replicas unknown, keeping %d: %s", len(self._urls), exc)
        return list(self._urls)


class CentralCrm:
    def __init__(
        self, centrals: Centrals, signer: TokenSigner, clock: Clock, *, site: str, cache_size: int = 10_000,
        timeout_s: float = 2.0, attempts: int = 2, retry_s: float = 0.1, ca_file: Path | None = None,
    ) -> None:  # fmt: skip
        self._centrals = centrals
        self._signer = signer
        self._clock = clock
        self.site = site
        self._cache: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._cache_size = cache_size
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts, self._retry_s = attempts, retry_s
        self._ca_file = ca_file
        self._http: aiohttp.ClientSession | None = None
        self._token: tuple[str, float] | None = None
        self._preferred = 0  # the replica that answered last is tried first

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _bearer(self) -> dict[str, str]:
        now = self._clock.now()
        if self._token is None or self._token[1] - now < TOKEN_TTL_S / 2:
            token = self._signer.issue("agent", f"site:{self.site}", site=self.site, ttl_s=TOKEN_TTL_S, role="agent")
            self._token = (token, now + TOKEN_TTL_S)
        return {"Authorization": "Bearer " + self._token[0]}

    async def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer of the first replica that answers (4xx answers are final)."""
        if self._http is None:
            self._http = client_session(self._ca_file, timeout=self._timeout)
        last: Exception | None = None
        for attempt in range(self._attempts):
            urls = await self._centrals()
            order = urls[self._preferred % len(urls) :] + urls[: self._preferred % len(urls)] if urls else []
            for url in order:
                try:
                    async with self._http.request(method, url + path, json=body, headers=self._bearer()) as r:
                        answer = await r.json(content_type=None)
                        if r.status < 500:
                            self._preferred = urls.index(url)
                            if r.status >= 400:
                                raise CallCenterError(str(answer.get("message", "")), error_id=str(
                                    answer.get("error_id", "crm.error")), status=r.status)  # fmt: skip
                            return answer
                        last = CallCenterError(str(answer), error_id="crm.unavailable", status=r.status)
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    last = exc
            if attempt + 1 < self._attempts:
                await asyncio.sleep(self._retry_s)
        raise CrmUnavailable(f"no central replica answered ({last})")

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """A POST to the first replica that answers (never cached: e.g. a PIN check)."""
        return await self._request("POST", path, body)

    def _remember(self, key: str, value: list[dict[str, Any]]) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def lookup(self, by: str, value: str) -> list[dict[str, Any]]:
        """Customers by ``phone``, ``account`` (full number, hashed at central) or ``customer_number``.
        Central first; when no replica answers, the last answer for the same question."""
        if by not in ("phone", "account", "customer_number"):
            raise ValueError(by)
        key = f"{by}:{value}"
        try:
            found = (await self._request("GET", f"/v1/customers/lookup?{by}={quote(value, safe='')}"))["customers"]
        except CrmUnavailable:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            raise
        self._remember(key, found)
        for customer in found:
            self._remember(f"customer_number:{customer['customer_number']}", [customer])
        return list(found)

    async def customer(self, customer_number: str) -> dict[str, Any] | None:
        found = await self.lookup("customer_number", customer_number)
        return found[0] if found else None

    async def history(self, customer_number: str, *, limit: int = 5, cursor: str | None = None) -> dict[str, Any]:
        query = f"?limit={limit}" + (f"&cursor={quote(cursor, safe='')}" if cursor else "")
        key = f"history:{customer_number}{query}"
        try:
            page: dict[str, Any] = await self._request("GET", f"/v1/customers/{quote(customer_number)}/history{query}")
        except CrmUnavailable:
            if key in self._cache:
                return self._cache[key][0]
            raise
        self._remember(key, [page])
        return page

    async def append_call(self, customer_number: str, entry: Mapping[str, Any]) -> None:
        """The call's entry in the customer's timeline at central (idempotent by call id and site)."""
        body = {"kind": "call", "site": self.site, "ref": f"{entry['call_id']}@{self.site}"[:64],
                "at": entry.get("at", self._clock.now()), "details": dict(entry)}  # fmt: skip
        await self._request("POST", f"/v1/customers/{quote(customer_number)}/history", body)
