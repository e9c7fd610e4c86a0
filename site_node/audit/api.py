"""``GET /v1/audit`` at a site: the audit trail for administrators and compliance officers.

Filters: ``from``/``to`` (epoch seconds, ``[from, to)``), ``actor``, ``action``, ``target``,
``limit`` (1-500, default 100), ``cursor`` (the ``next`` of the previous page). Entries come in
arrival order, oldest first: by ``(at, id)``. Every read is itself audited (``audit_read``);
a read whose own entry cannot be written is refused (the error of the storage), never served
unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from cluster.clock import Clock
from cluster.errors import BadRequest
from cluster.tokens import TokenSigner, bearer_claims
from site_node.calls.cdr_api import number, page_size
from site_node.storage import Storage

WHY = "only administrators and compliance officers read the audit trail"
FILTERS = ("from", "to", "actor", "action", "target", "limit", "cursor")


def parse_cursor(raw: str | None) -> tuple[float, int] | None:
    """``at|id`` of the last entry of the previous page."""
    if not raw:
        return None
    try:
        at, entry_id = raw.split("|", 1)
        return float(at), int(entry_id)
    except ValueError:
        raise BadRequest("cursor: pass back the 'next' of the previous page", error_id="request.bad_field") from None


def cursor_of(at: float, entry_id: int) -> str:
    return f"{at!r}|{entry_id}"


class AuditApi:
    def __init__(self, storage: Callable[[], Storage], signer: TokenSigner, clock: Clock) -> None:
        self._storage = storage
        self._signer = signer
        self._clock = clock

    def install(self, app: web.Application, guard: Callable[..., Any]) -> None:
        app.router.add_get("/v1/audit", guard(self.list_entries))

    async def list_entries(self, request: web.Request) -> web.Response:
        claims = bearer_claims(self._signer, request.headers.get("Authorization", ""), action="audit.read", why=WHY)
        q = request.query
        limit, after = page_size(q), parse_cursor(q.get("cursor"))
        storage = self._storage()
        rows = await storage.audit.entries(
            since=number(q, "from"), until=number(q, "to"), actor=q.get("actor") or None,
            action=q.get("action") or None, target=q.get("target") or None, after=after, limit=limit,
        )
        await storage.audit.audit(
            at=self._clock.now(), actor=claims.subject, role=str(claims.extra.get("role", "")),
            action="audit_read", target=storage.audit.site or None,
            details={k: q[k][:200] for k in FILTERS if q.get(k)},
        )
        last = rows[-1] if len(rows) == limit else None
        return web.json_response({
            "entries": [r.as_dict() for r in rows],
            "next": cursor_of(last.at, last.id) if last is not None and last.id is not None else None,
        })

