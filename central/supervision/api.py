"""``GET /v1/supervisor/snapshot?site=&team=&queue=`` at central: every branch on one page.

Central knows the live sites from etcd membership (:class:`central.state.ClusterState`) and
asks each of them (or only ``site``) for ``GET /v1/supervisor/snapshot`` with the caller's own
token (:mod:`central.gather`): the site checks the role and a team leader's team itself, so the
merged view shows exactly what each site would. Sites that do not answer are listed in
``unavailable``; a site refusing the token refuses the whole read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from central.gather import SiteGather
from central.state import ClusterState
from central.supervision.merge import merge_snapshots
from cluster.clock import Clock
from cluster.errors import BadRequest
from cluster.tokens import TokenSigner, bearer_claims

WHY = "only team leaders, managers and administrators open the supervisor console"
_MAX_FILTER = 64


class CenterSnapshotApi:
    def __init__(
        self,
        state: Callable[[], ClusterState | None],
        signer: TokenSigner,
        clock: Clock,
        *,
        ca_file: Path | None = None,
        timeout_s: float = 3.0,
    ) -> None:
        self._gather = SiteGather(state, ca_file=ca_file, timeout_s=timeout_s)  # a slow site must not stall it
        self._signer = signer
        self._clock = clock

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/supervisor/snapshot", self.snapshot)
        self._gather.install(app)

    async def snapshot(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        bearer_claims(self._signer, authorization, action="calls.supervise_team", why=WHY)
        q = request.query
        params = {}
        for name in ("team", "queue"):
            value = q.get(name, "")
            if len(value) > _MAX_FILTER:
                raise BadRequest(f"{name}: at most {_MAX_FILTER} characters", error_id="request.bad_field")
            if value:
                params[name] = value
        sites = self._gather.sites(q.get("site") or None)
        found, unavailable = await self._gather.bodies(
            sites, "/v1/supervisor/snapshot", lambda _: params, authorization
        )
        return web.json_response(merge_snapshots(found, now=self._clock.now(), unavailable=unavailable))
