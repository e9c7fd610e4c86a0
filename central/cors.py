"""Cross-origin access to central's API for the browser pages served by the site nodes.

The customer page and the agent desktop are served by a site node (another origin than any
central replica) and call central directly: ``POST /v1/calls``, ``POST /v1/calls/{id}/reconnect``
and ``POST /v1/agents/reattach``. Their JSON bodies make the browser send a preflight
``OPTIONS`` first. Nothing here relies on cookies (tokens travel in the bodies), so any origin
may call; credentials are never allowed.

    install_cors(app)   # before the app starts: answers preflights, labels every response
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Content-Type"
MAX_AGE_S = 600

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install_cors(app: web.Application, *, allow_origin: str = "*") -> None:
    """Answer CORS preflights and add ``Access-Control-Allow-Origin`` to every response,
    error responses included (so a page can read the ``error_id``)."""

    @web.middleware
    async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Methods": ALLOW_METHODS,
                    "Access-Control-Allow-Headers": ALLOW_HEADERS,
                    "Access-Control-Max-Age": str(MAX_AGE_S),
                },
            )
        return await handler(request)

    async def label(_: web.Request, response: web.StreamResponse) -> None:
        response.headers["Access-Control-Allow-Origin"] = allow_origin

    app.middlewares.append(preflight)
    app.on_response_prepare.append(label)
