"""The administration API at central (role ``admin``: ``admin.configure`` in :mod:`cluster.roles`).

    GET /v1/admin/config                    every administered object with its version
    PUT /v1/admin/agents/{agent_id}         {"version", "skills"?, "team"?, "active"?}
    PUT /v1/admin/queues/{queue}            {"version", "skill"?, "min_level"?, "sl_threshold_s"?}
    PUT /v1/admin/codes/{list}              {"version", "codes": [...]}   list: not_ready | wrap_up

A change is validated (:mod:`central.admin.model`), written to etcd fenced on the version read
(the later of two administrators gets ``409 admin.version_conflict``), and every site applies it
in order (:mod:`site_node.admin`) at the next offer, and audits it there, with the editor's name.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from central.admin.model import KINDS, plan_change
from central.admin.store import AdminStore
from cluster.clock import Clock
from cluster.http import read_json
from cluster.logs import log
from cluster.tokens import TokenSigner, bearer_claims

_log = logging.getLogger(__name__)
WHY = "only administrators change agents, queues and codes"


class AdminApi:
    def __init__(
        self, store: AdminStore, signer: TokenSigner, clock: Clock, *, max_body_bytes: int = 64 * 1024
    ) -> None:
        self._store = store
        self._signer = signer
        self._clock = clock
        self._max_body_bytes = max_body_bytes

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/admin/config", self.config)
        app.router.add_put("/v1/admin/agents/{object_id}", self.change("agents"))
        app.router.add_put("/v1/admin/queues/{object_id}", self.change("queues"))
        app.router.add_put("/v1/admin/codes/{object_id}", self.change("codes"))

    def _admin(self, request: web.Request) -> str:
        claims = bearer_claims(self._signer, request.headers.get("Authorization", ""), action="admin.configure",
                               why=WHY)  # fmt: skip
        return claims.subject

    async def config(self, request: web.Request) -> web.Response:
        self._admin(request)
        catalog, _ = await self._store.catalog()
        body = {kind: {oid: {"version": p.version, **p.document} for oid, p in sorted(catalog.of(kind).items())}
                for kind in KINDS}  # fmt: skip
        return web.json_response(body)

    def change(self, kind: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            editor = self._admin(request)
            object_id = request.match_info["object_id"]
            body = await read_json(request, max_bytes=self._max_body_bytes)
            catalog, revisions = await self._store.catalog()
            planned = plan_change(kind, object_id, body, catalog)  # raises naming the field: nothing written
            now = self._clock.now()
            await self._store.write(kind, object_id, planned, read_at=revisions.get((kind, object_id)),
                                    editor=editor, now=now)  # fmt: skip
            log(_log, logging.INFO, "admin change published", kind=kind, id=object_id, version=planned.version,
                by=editor)  # fmt: skip
            return web.json_response({"kind": kind, "id": object_id, "version": planned.version,
                                      **planned.document})  # fmt: skip

        return handler
