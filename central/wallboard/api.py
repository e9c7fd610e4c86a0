"""The wallboard's HTTP routes, installed on every central replica's aiohttp app.

======================  =========================================================
``GET /wallboard``      the page (HTML, with its ES module and CSS from package data)
``GET /v1/wallboard``   the snapshot as JSON
``GET /v1/wallboard/stream``  server-sent events: ``snapshot`` (at most every 0.5 s,
                        only when it changed) and ``heartbeat`` (after 10 s of silence)
======================  =========================================================

Every replica keeps its own hot copy of the sites from etcd, so any replica can serve the
wallboard; none of this goes through the leader. While the replica starts (no cluster state
yet) the snapshot is empty and ``"ready": false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from importlib import resources
from typing import Any, Protocol

from aiohttp import web

from central.wallboard.snapshot import build_snapshot
from central.wallboard.stream import HEARTBEAT_S, MIN_INTERVAL_S, Pacer, sse_event

POLL_S = 0.1  # how often a stream looks at the state (snapshots go out at most every 0.5 s)
_ASSETS = {
    "wallboard.js": "text/javascript",
    "wallboard.css": "text/css",
    "i18n.js": "text/javascript",  # the one message catalogue, shared with the desktop's pages
}


class SitesView(Protocol):
    """What the wallboard reads of :class:`central.state.ClusterState`."""

    sites: dict[str, dict[str, Any]]
    departed: dict[str, dict[str, Any]]


StateGetter = Callable[[], SitesView | None]
Clock = Callable[[], float]


def current_snapshot(state_getter: StateGetter) -> dict[str, Any]:
    state = state_getter()
    if state is None:
        return {"ready": False, **build_snapshot({}, {})}
    return {"ready": True, **build_snapshot(state.sites, state.departed)}


def _asset(name: str) -> bytes:
    if name == "i18n.js":
        return resources.files("webrtc_client").joinpath("static", "i18n.js").read_bytes()
    return resources.files("central.wallboard").joinpath(name).read_bytes()


class WallboardRoutes:
    """Handlers bound to one app; ``closing`` ends the open streams when the app shuts down."""

    def __init__(
        self,
        state_getter: StateGetter,
        *,
        clock: Clock = time.monotonic,
        poll_s: float = POLL_S,
        min_interval_s: float = MIN_INTERVAL_S,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._state = state_getter
        self._clock = clock
        self._poll_s = poll_s
        self._min_interval_s = min_interval_s
        self._heartbeat_s = heartbeat_s
        self._closing = asyncio.Event()
        self._page = _asset("wallboard.html")

    async def page(self, _: web.Request) -> web.Response:
        return web.Response(body=self._page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _ASSETS:
            raise web.HTTPNotFound()
        return web.Response(body=_asset(name), content_type=_ASSETS[name], charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def snapshot(self, _: web.Request) -> web.Response:
        return web.json_response(current_snapshot(self._state))

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        pacer = Pacer(self._min_interval_s, self._heartbeat_s)
        try:
            await response.write(b"retry: 2000\n\n")
            while not self._closing.is_set():
                snap = current_snapshot(self._state)
                push = pacer.step(snap, self._clock())
                if push is not None:
                    await response.write(sse_event(push, snap))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self._poll_s)
        except ConnectionError:
            return response  # the browser went away
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    async def on_shutdown(self, _: web.Application) -> None:
        self._closing.set()


def install(app: web.Application, state_getter: StateGetter, **options: Any) -> WallboardRoutes:
    """Add the wallboard routes to ``app``; ``state_getter`` returns None until state exists."""
    routes = WallboardRoutes(state_getter, **options)
    app.router.add_get("/wallboard", routes.page)
    app.router.add_get("/wallboard/{name}", routes.asset)
    app.router.add_get("/v1/wallboard", routes.snapshot)
    app.router.add_get("/v1/wallboard/stream", routes.stream)
    app.on_shutdown.append(routes.on_shutdown)
    return routes
