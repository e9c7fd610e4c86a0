"""Asking every live site for one page of something and merging the answers (central's read
APIs: call records, the audit trail). Each site is asked with the caller's own token, so each
site checks the role too; a site refusing the token (401/403) refuses the whole read, a site
that does not answer is named in ``unavailable``: a partial answer never passes for a whole one.
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

MAX_PAGE = 500


def page_limit(raw: str | None) -> int:
    try:
        limit = int(raw or 100)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be 1 to {MAX_PAGE}", error_id="request.bad_field")
    return limit


class SiteGather:
    def __init__(
        self, state: Callable[[], ClusterState | None], *, timeout_s: float = 10.0, ca_file: Path | None = None
    ) -> None:
        self._state = state
        self._timeout_s = timeout_s
        self._ca_file = ca_file
        self._http: aiohttp.ClientSession | None = None

    def install(self, app: web.Application) -> None:
        app.on_cleanup.append(self._close)

    async def _close(self, _: web.Application) -> None:
        if self._http is not None:
            await self._http.close()

    def sites(self, only: str | None = None) -> dict[str, str]:
        """Live sites' base URLs by name (only the one named, if any)."""
        state = self._state()
        if state is None:
            raise CallCenterError("central is starting (waiting for etcd); retry shortly",
                                  error_id="central.starting", status=503)
        sites = {name: str(info.get("url")) for name, info in state.sites.items() if info.get("url")}
        if only:
            if only not in sites:
                raise CallCenterError(f"no live site {only!r}", error_id="site.unknown", status=404)
            sites = {only: sites[only]}
        return sites

    async def pages(
        self,
        sites: dict[str, str],
        path: str,
        key: str,
        params: Callable[[str], dict[str, str]],
        authorization: str,
    ) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
        """``GET <site><path>?<params(site)>`` at every site at once: the rows under ``key`` of
        each site that answered, and the names of those that did not (sorted)."""
        found, unavailable = await self.bodies(sites, path, params, authorization)
        return {name: list(body[key]) for name, body in found.items()}, unavailable

    async def bodies(
        self,
        sites: dict[str, str],
        path: str,
        params: Callable[[str], dict[str, str]],
        authorization: str,
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """As :meth:`pages`, with each site's whole JSON answer."""
        if self._http is None:
            self._http = client_session(self._ca_file, timeout=aiohttp.ClientTimeout(total=self._timeout_s))
        names = sorted(sites)
        answers = await asyncio.gather(*(self._get(sites[name] + path, params(name), authorization) for name in names))
        found = {name: body for name, body in zip(names, answers, strict=True) if body is not None}
        return found, [name for name in names if name not in found]

    async def _get(self, url: str, query: dict[str, str], authorization: str) -> dict[str, Any] | None:
        assert self._http is not None
        try:
            async with self._http.get(url, params=query, headers={"Authorization": authorization}) as r:
                body = await r.json(content_type=None)
                if r.status != 200:
                    if r.status in (401, 403):
                        raise CallCenterError(str(body.get("message")), error_id=str(body.get("error_id")),
                                              status=r.status)
                    return None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        return dict(body)
