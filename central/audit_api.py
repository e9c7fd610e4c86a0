"""The audit trail of every site in one read (``GET /v1/audit?from=&to=&actor=&action=&target=&site=``).

Central asks each live site (or the one named) for its entries (``GET /v1/audit`` with the
caller's token: each site checks the role and records the read as ``audit_read``;
:mod:`central.gather`), merges them in arrival order, ``(at, site, id)``, oldest first, and
pages with an opaque ``cursor``. Sites that do not answer are listed in ``unavailable``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from central.gather import SiteGather, page_limit
from central.state import ClusterState
from cluster.errors import BadRequest
from cluster.tokens import TokenSigner, bearer_claims

WHY = "only administrators and compliance officers read the audit trail"
_AFTER_ALL = 2**62  # an id beyond any: "every entry at this time was on an earlier page"


def _cursor(raw: str | None) -> tuple[float, str, int] | None:
    if not raw:
        return None
    try:
        at, site, entry_id = raw.split("|", 2)
        return float(at), site, int(entry_id)
    except ValueError:
        raise BadRequest("cursor: pass back the 'next' of the previous page", error_id="request.bad_field") from None


class AuditReadApi:
    def __init__(
        self, state: Callable[[], ClusterState | None], signer: TokenSigner, *, ca_file: Path | None = None
    ) -> None:
        self._gather = SiteGather(state, ca_file=ca_file)
        self._signer = signer

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/audit", self.list_entries)
        self._gather.install(app)

    async def list_entries(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        bearer_claims(self._signer, authorization, action="audit.read", why=WHY)
        q = request.query
        sites = self._gather.sites(q.get("site") or None)
        limit, cursor = page_limit(q.get("limit")), _cursor(q.get("cursor"))
        params = {k: q[k] for k in ("from", "to", "actor", "action", "target") if q.get(k)}
        params["limit"] = str(limit)

        def site_params(site: str) -> dict[str, str]:
            if cursor is None:
                return params
            at, after_site, entry_id = cursor  # the order is (at, site, id): translate per site
            after_id = -1 if site > after_site else entry_id if site == after_site else _AFTER_ALL
            return {**params, "cursor": f"{at!r}|{after_id}"}

        found, unavailable = await self._gather.pages(sites, "/v1/audit", "entries", site_params, authorization)
        rows = sorted((row for page in found.values() for row in page), key=lambda r: (r["at"], r["site"], r["id"]))
        page, more = rows[:limit], len(rows) > limit or any(len(p) >= limit for p in found.values())
        last = page[-1] if page else None
        next_cursor = f"{last['at']!r}|{last['site']}|{last['id']}" if more and last else None
        return web.json_response({"entries": page, "next": next_cursor, "unavailable": unavailable})
