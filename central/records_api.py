"""Call records of every site in one read (``GET /v1/calls?from=&to=&site=&queue=&agent=``).

Central asks each live site (or the one named) for its CDRs (``GET /v1/cdrs`` with the
caller's token, so each site checks the role too; :mod:`central.gather`), merges them in
``(arrival_at, call_id, site)`` order and pages with an opaque ``cursor``. A site that does not
answer is named in ``unavailable``: a partial answer never passes for a whole one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from central.gather import SiteGather, page_limit
from central.state import ClusterState
from cluster.errors import BadRequest
from cluster.tokens import TokenSigner, bearer_claims

WHY = "only team leaders, managers and administrators read call records"


def _cursor(raw: str | None) -> tuple[float, str, str] | None:
    if not raw:
        return None
    try:
        at, call_id, site = raw.split("|", 2)
        return float(at), call_id, site
    except ValueError:
        raise BadRequest("cursor: pass back the 'next' of the previous page", error_id="request.bad_field") from None


class CallRecordsApi:
    def __init__(
        self, state: Callable[[], ClusterState | None], signer: TokenSigner, *, ca_file: Path | None = None
    ) -> None:
        self._gather = SiteGather(state, ca_file=ca_file)  # sites' https URLs are signed by tls.ca_file
        self._signer = signer

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/calls", self.list_calls)
        self._gather.install(app)

    async def list_calls(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        bearer_claims(self._signer, authorization, action="records.read", why=WHY)
        q = request.query
        sites = self._gather.sites(q.get("site") or None)
        limit, cursor = page_limit(q.get("limit")), _cursor(q.get("cursor"))
        params = {k: q[k] for k in ("from", "to", "queue", "agent") if q.get(k)}
        params["limit"] = str(limit)

        def site_params(site: str) -> dict[str, str]:
            if cursor is None:
                return params
            at, call_id, after_site = cursor
            return {**params, "after_at": repr(at), "after_call": call_id,
                    "inclusive": "true" if site > after_site else "false"}

        found, unavailable = await self._gather.pages(sites, "/v1/cdrs", "calls", site_params, authorization)
        rows = sorted((row for page in found.values() for row in page),
                      key=lambda r: (r["arrival_at"], r["call_id"], r["site"]))
        page, more = rows[:limit], len(rows) > limit or any(len(p) >= limit for p in found.values())
        last = page[-1] if page else None
        next_cursor = f"{last['arrival_at']}|{last['call_id']}|{last['site']}" if more and last else None
        return web.json_response({"calls": page, "next": next_cursor, "unavailable": unavailable})
