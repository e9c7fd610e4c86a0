"""``GET /v1/recordings``: the recordings of every live site (or ``site=``), one entry per call.

Central passes the filters (:mod:`site_node.recordings.search`, checked here first so a bad one
costs no site a query) and the caller's token to each site's ``GET /v1/recordings``; each site
checks the role again and answers from its own index. A call recorded at two sites (a failover)
comes back as one entry with both parts in order (:func:`~central.recordings.merge.whole_calls`).
A site that does not answer is named in ``unavailable``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from central.gather import SiteGather
from central.recordings.merge import whole_calls
from central.state import ClusterState
from cluster.tokens import TokenSigner, bearer_claims
from site_node.recordings.search import parse_filter
from site_node.recordings.search_api import SEARCH_WHY


class RecordingSearchApi:
    def __init__(
        self, state: Callable[[], ClusterState | None], signer: TokenSigner, *, ca_file: Path | None = None
    ) -> None:
        self._gather = SiteGather(state, ca_file=ca_file)
        self._signer = signer

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/recordings", self.search)
        self._gather.install(app)

    async def search(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        bearer_claims(self._signer, authorization, action="recordings.search", why=SEARCH_WHY)
        found = parse_filter(request.query)
        sites = self._gather.sites(request.query.get("site") or None)
        pages, unavailable = await self._gather.pages(sites, "/v1/recordings", "recordings",
                                                      lambda _site: found.query(), authorization)  # fmt: skip
        calls = whole_calls((row for page in pages.values() for row in page), sites)
        return web.json_response({"recordings": calls[: found.limit], "unavailable": unavailable})
