"""This site's recordings, found (``GET /v1/recordings``) and held (``PUT`` / ``DELETE
/v1/recordings/{id}/hold``).

Search: team leaders and up (``recordings.search``), each recording with this site's CDR of its
call and the path that plays it (the audited :class:`~site_node.recordings.api.PlaybackApi`).
Legal hold: managers and administrators (``recordings.hold``), audited
(``recording_hold_placed`` / ``recording_hold_lifted``); a held recording outlives its queue's
retention until the hold is lifted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from cluster.clock import Clock
from cluster.tokens import TokenSigner, bearer_claims
from site_node.recordings.errors import BadRecordingFilter
from site_node.recordings.search import parse_filter
from site_node.storage import Storage
from site_node.storage.records import CallDetailRecord, RecordingMeta

SEARCH_WHY = "only team leaders, managers and administrators search recordings"
HOLD_WHY = "only managers and administrators place or lift a legal hold"


def recording_row(site: str, meta: RecordingMeta, cdr: CallDetailRecord | None) -> dict[str, Any]:
    return {"id": meta.id, "site": site, "call_id": meta.call_id, "started_at": meta.started_at,
            "ended_at": meta.ended_at, "duration_s": meta.duration_s, "paused_s": meta.paused_s,
            "channels": meta.channels, "legal_hold": meta.legal_hold, "audio": f"/v1/recordings/{meta.id}/audio",
            "cdr": None if cdr is None else cdr.as_dict()}  # fmt: skip


class RecordingsApi:
    def __init__(self, storage: Callable[[], Storage], signer: TokenSigner, clock: Clock, *, site: str) -> None:
        self._storage = storage
        self._signer = signer
        self._clock = clock
        self._site = site

    def install(self, app: web.Application, guard: Callable[..., Any]) -> None:
        app.router.add_get("/v1/recordings", guard(self.search))
        app.router.add_put("/v1/recordings/{id}/hold", guard(self.hold))
        app.router.add_delete("/v1/recordings/{id}/hold", guard(self.hold))

    async def search(self, request: web.Request) -> web.Response:
        bearer_claims(self._signer, request.headers.get("Authorization", ""), action="recordings.search",
                      why=SEARCH_WHY)  # fmt: skip
        found = parse_filter(request.query)
        rows = await self._storage().recordings.search(found.start, found.end, **found.storage_args())
        return web.json_response({"recordings": [recording_row(self._site, meta, cdr) for meta, cdr in rows]})

    async def hold(self, request: web.Request) -> web.Response:
        claims = bearer_claims(self._signer, request.headers.get("Authorization", ""), action="recordings.hold",
                               why=HOLD_WHY)  # fmt: skip
        raw = request.match_info["id"]
        if not raw.isdigit() or len(raw) > 18:
            raise BadRecordingFilter("id: a number", field="id")
        held = request.method == "PUT"
        storage = self._storage()
        await storage.recordings.set_legal_hold(int(raw), held)
        await storage.audit.audit(at=self._clock.now(), actor=claims.subject,
                                  action="recording_hold_placed" if held else "recording_hold_lifted", target=raw,
                                  details={"role": claims.extra.get("role"), "site": self._site})  # fmt: skip
        return web.json_response({"id": int(raw), "legal_hold": held})
