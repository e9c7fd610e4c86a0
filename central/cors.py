"""Cross-origin access to central's API for the browser pages served by the site nodes.

The customer page and the agent desktop are served by a site node (another origin than any
central replica) and call central directly: ``POST /v1/calls``, ``POST /v1/calls/{id}/reconnect``
and ``POST /v1/agents/reattach``; the supervisor console reads ``GET /v1/supervisor/snapshot``
with its agent token (``Authorization``). Their JSON bodies make the browser send a preflight
``OPTIONS`` first. Only known origins may read the answers: the cluster's own sites (from
their membership) and the origins configured in ``central.cors_origins``; credentials are
never allowed (tokens travel in the bodies and headers, not cookies).

    install_cors(app, allowed)   # before the app starts: answers preflights, labels responses
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Content-Type, Authorization"  # the supervisor console reads with its agent token
MAX_AGE_S = 600

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def origin_of(url: str) -> str:
    """``http://host:port`` of a URL (what a browser sends as ``Origin``)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def install_cors(app: web.Application, allowed: Callable[[str], bool]) -> None:
    """Answer CORS preflights from allowed origins and label their responses (error
    responses included, so a page can read the ``error_id``); other origins get nothing."""

    @web.middleware
    async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            origin = request.headers.get("Origin", "")
            if not allowed(origin):
                return web.Response(status=403, text="origin not allowed")
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": ALLOW_METHODS,
                    "Access-Control-Allow-Headers": ALLOW_HEADERS,
                    "Access-Control-Max-Age": str(MAX_AGE_S),
                    "Vary": "Origin",
                },
            )
        return await handler(request)

    async def label(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin", "")
        if origin and allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"

    app.middlewares.append(preflight)
    app.on_response_prepare.append(label)
