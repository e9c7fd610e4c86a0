"""The site's call records over HTTP (``GET /v1/cdrs``), for central's read API and reports.

Only supervisors read call records: a team leader, manager or administrator's agent token.
Pages are ordered by ``(arrival_at, call_id)``; ``after_at`` / ``after_call`` continue a page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from cluster.errors import BadRequest
from cluster.tokens import TokenSigner, bearer_claims
from site_node.storage import Storage

MAX_PAGE = 500


def number(query: Any, name: str, default: float | None = None) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number (epoch seconds)", error_id="request.bad_field") from None


def page_size(query: Any) -> int:
    limit = number(query, "limit", 100)
    assert limit is not None
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be 1 to {MAX_PAGE}", error_id="request.bad_field")
    return int(limit)


class CdrApi:
    def __init__(self, storage: Callable[[], Storage], signer: TokenSigner) -> None:
        self._storage = storage
        self._signer = signer

    def install(self, app: web.Application, guard: Callable[..., Any]) -> None:
        app.router.add_get("/v1/cdrs", guard(self.list_cdrs))

    async def list_cdrs(self, request: web.Request) -> web.Response:
        bearer_claims(self._signer, request.headers.get("Authorization", ""), action="records.read",
                      why="only team leaders, managers and administrators read call records")
        q = request.query
        start, end = number(q, "from", 0.0), number(q, "to", 1e12)
        assert start is not None and end is not None
        after_at = number(q, "after_at")
        after = None if after_at is None else (after_at, q.get("after_call", ""))
        rows = await self._storage().calls.calls_page(
            start, end, queue=q.get("queue") or None, agent_id=q.get("agent") or None, after=after,
            inclusive=q.get("inclusive") == "true", limit=page_size(q),
        )
        return web.json_response({"calls": [r.as_dict() for r in rows]})
