"""Serves the agent desktop and the customer web-call pages from every site node.

    GET /agent      the agent desktop (log in, states, softphone, screen pop, wrap-up)
    GET /customer   the customer page (call the bank, dial pad, queue position, callback)
    GET /supervisor the supervisor console (a team live, listen/whisper/barge, not ready, messages)
    GET /static/*   their ES modules and styles (no build step, nothing fetched at run time)
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"


def install_pages(app: web.Application) -> None:
    async def agent(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "agent.html")

    async def customer(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "customer.html")

    async def supervisor(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "supervisor.html")

    app.router.add_get("/agent", agent)
    app.router.add_get("/supervisor", supervisor)
    app.router.add_get("/customer", customer)
    app.router.add_static("/static/", STATIC, show_index=False)
