"""Call records of every site in one read (``GET /v1/calls?from=&to=&site=&queue=&agent=``).

Central asks each live site (or the one named) for its CDRs (``GET /v1/cdrs`` with the
caller's token, so each site checks the role too), merges them in ``(arrival_at, call_id,
site)`` order and pages with an opaque ``cursor``. A site that does not answer is named in
``unavailable``: a partial answer never passes for a whole one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from central.state import ClusterState
from cluster.errors import BadRequest, CallCenterError
from cluster.tls import client_session
from cluster.tokens import TokenSigner, bearer_claims

MAX_PAGE = 500
WHY = "only team leaders, managers and administrators read call records"


def _cursor(raw: str | None) -> tuple[float, str, str] | None:
    if not raw:
        return None
    try:
        at, call_id, site = raw.split("|", 2)
        return float(at), call_id, site
    except ValueError:
        raise BadRequest("cursor: pass back the 'next' of the previous page", error_id="request.bad_field") from None


def _limit(raw: str | None) -> int:
    try:
        limit = int(raw or 100)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be 1 to {MAX_PAGE}", error_id="request.bad_field")
    return limit


class CallRecordsApi:
    def __init__(
        self, state: Callable[[], ClusterState | None], signer: TokenSigner, *, ca_file: Path | None = None
    ) -> None:
        self._state = state
        self._signer = signer
        self._ca_file = ca_file  # sites' https URLs are signed by this CA (tls.ca_file)
        self._http: aiohttp.ClientSession | None = None

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/calls", self.list_calls)
        app.on_cleanup.append(self._close)

    async def _close(self, _: web.Application) -> None:
        if self._http is not None:
            await self._http.close()

    async def list_calls(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        bearer_claims(self._signer, authorization, action="records.read", why=WHY)
        state = self._state()
        if state is None:
            raise CallCenterError("central is starting (waiting for etcd); retry shortly",
                                  error_id="central.starting", status=503)
        q = request.query
        limit, cursor = _limit(q.get("limit")), _cursor(q.get("cursor"))
        sites = {name: str(info.get("url")) for name, info in state.sites.items() if info.get("url")}
        if q.get("site"):
            if q["site"] not in sites:
                raise CallCenterError(f"no live site {q['site']!r}", error_id="site.unknown", status=404)
            sites = {q["site"]: sites[q["site"]]}
        params = {k: q[k] for k in ("from", "to", "queue", "agent") if q.get(k)}
        params["limit"] = str(limit)
        if self._http is None:
            self._http = client_session(self._ca_file, timeout=aiohttp.ClientTimeout(total=10))
        answers = await asyncio.gather(
            *(self._site_page(name, url, params, cursor, authorization) for name, url in sorted(sites.items()))
        )
        rows = sorted((row for found in answers if found is not None for row in found),
                      key=lambda r: (r["arrival_at"], r["call_id"], r["site"]))
        unavailable = [name for name, found in zip(sorted(sites), answers, strict=True) if found is None]
        page, more = rows[:limit], len(rows) > limit or any(found and len(found) >= limit for found in answers)
        last = page[-1] if page else None
        next_cursor = f"{last['arrival_at']}|{last['call_id']}|{last['site']}" if more and last else None
        return web.json_response({"calls": page, "next": next_cursor, "unavailable": unavailable})

    async def _site_page(
        self, site: str, url: str, params: dict[str, str], cursor: tuple[float, str, str] | None, authorization: str
    ) -> list[dict[str, Any]] | None:
        query = dict(params)
        if cursor is not None:
            at, call_id, after_site = cursor
            query.update(after_at=repr(at), after_call=call_id, inclusive="true" if site > after_site else "false")
        assert self._http is not None
        try:
            async with self._http.get(url + "/v1/cdrs", params=query, headers={"Authorization": authorization}) as r:
                body = await r.json(content_type=None)
                if r.status != 200:
                    if r.status in (401, 403):
                        raise CallCenterError(str(body.get("message")), error_id=str(body.get("error_id")),
                                              status=r.status)
                    return None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        return list(body["calls"])
