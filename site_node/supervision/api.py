"""The supervisor console's HTTP API at a site (team leaders, managers, administrators).

    GET  /v1/supervisor/snapshot?team=&queue=        the console's data now
    GET  /v1/supervisor/stream?team=&queue=          the same, pushed as server-sent events
                                                     (``data: {...}`` on every change, at least
                                                     once a second)
    POST /v1/supervisor/agents/{agent_id}/not_ready  {reason} force an agent not ready (audited)
    POST /v1/supervisor/agents/{agent_id}/message    {text} shown on the agent's desktop (audited)
    POST /v1/supervisor/media_token                  a supervisor token for the console's own
                                                     softphone (joins /ws as a supervisor: its
                                                     own WebRTC leg for listen, whisper, barge)

Every request carries the supervisor's agent token (``Authorization: Bearer``): reading needs
``calls.supervise_team`` (cluster.roles), acting on an agent also that the supervisor may
supervise that agent (``may_supervise``: a team leader their own team only).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from cluster.clock import Clock
from cluster.http import read_json
from cluster.roles import may_supervise
from cluster.tokens import Claims, TokenSigner, bearer_claims
from site_node.agents.live import LiveAgent
from site_node.audit import AuditTrail
from site_node.calls.live import LiveCall
from site_node.signalling.notify import Notify
from site_node.storage.guard import mask_numbers_in_text
from site_node.supervision.errors import AgentNotHere, BadSupervisorRequest, NotYourTeam
from site_node.supervision.view import console_view

_WHY = "only team leaders, managers and administrators open the supervisor console"
_TICK_S = 0.25  # the stream looks this often; a change is pushed at the next look
_MAX_QUIET_S = 1.0
_MEDIA_TTL_S = 8 * 3600.0  # never beyond the login's own token
_CARRIED = ("name", "role", "team", "sid", "auth_exp")  # what may_supervise and revocation read


class Floor(Protocol):
    """What the console reads and acts on: the site's desk, calls and queues."""

    def floor_agents(self) -> Mapping[str, LiveAgent]: ...

    def floor_calls(self) -> Mapping[str, LiveCall]: ...

    def floor_queues(self, now: float) -> Mapping[str, Mapping[str, Any]]: ...

    def force_not_ready(self, live: LiveAgent, reason: str) -> None: ...


class SupervisionApi:
    def __init__(
        self, *, site: str, floor: Floor, signer: TokenSigner, clock: Clock, notify: Notify, audit: AuditTrail
    ) -> None:
        self._site = site
        self._floor = floor
        self._signer = signer
        self._clock = clock
        self._notify = notify
        self._audit = audit

    def install(self, app: web.Application, guard: Callable[..., object]) -> None:
        app.router.add_get("/v1/supervisor/snapshot", guard(self.snapshot))  # type: ignore[arg-type]
        app.router.add_get("/v1/supervisor/stream", guard(self.stream))  # type: ignore[arg-type]
        app.router.add_post("/v1/supervisor/agents/{agent_id}/not_ready", guard(self.not_ready))  # type: ignore[arg-type]
        app.router.add_post("/v1/supervisor/agents/{agent_id}/message", guard(self.message))  # type: ignore[arg-type]
        app.router.add_post("/v1/supervisor/media_token", guard(self.media_token))  # type: ignore[arg-type]

    def _claims(self, request: web.Request) -> Claims:
        return bearer_claims(
            self._signer, request.headers.get("Authorization", ""), action="calls.supervise_team", why=_WHY
        )

    def _view(self, claims: Claims, request: web.Request) -> dict[str, Any]:
        now = self._clock.now()
        return console_view(
            claims.extra,
            site=self._site,
            agents=self._floor.floor_agents().values(),
            calls=self._floor.floor_calls(),
            queues=self._floor.floor_queues(now),
            now=now,
            team=request.query.get("team") or None,
            queue=request.query.get("queue") or None,
        )

    async def snapshot(self, request: web.Request) -> web.Response:
        return web.json_response(self._view(self._claims(request), request), dumps=_dumps)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        claims = self._claims(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        last_key, last_sent = "", 0.0
        loop = asyncio.get_running_loop()
        while claims.expires_at > self._clock.now():
            view = self._view(claims, request)
            key = _change_key(view)
            if key != last_key or loop.time() - last_sent >= _MAX_QUIET_S:
                await response.write(f"data: {_dumps(view)}\n\n".encode())
                last_key, last_sent = key, loop.time()
            await asyncio.sleep(_TICK_S)
        return response

    def _supervised(self, claims: Claims, agent_id: str) -> LiveAgent:
        live = self._floor.floor_agents().get(agent_id)
        if live is None:
            raise AgentNotHere(f"agent {agent_id} is not logged in at {self._site}", agent_id=agent_id)
        if not may_supervise(claims.extra, live.team):
            raise NotYourTeam("team leaders act on their own team's agents, managers on anyone", agent_id=agent_id)
        return live

    async def not_ready(self, request: web.Request) -> web.Response:
        claims = self._claims(request)
        body = await read_json(request, max_bytes=4096)
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 64:
            raise BadSupervisorRequest("reason: a short text (1-64 characters) is required", field="reason")
        live = self._supervised(claims, request.match_info["agent_id"])
        self._floor.force_not_ready(live, reason.strip())
        await self._audit.record(
            actor=claims.subject,
            role=str(claims.extra.get("role", "")),
            action="agent_forced_not_ready",
            target=live.agent_id,
            details={"reason": reason.strip()},
        )
        return web.json_response(
            {"agent_id": live.agent_id, "state": live.agent.state.value, "reason": live.agent.reason}
        )

    async def message(self, request: web.Request) -> web.Response:
        claims = self._claims(request)
        body = await read_json(request, max_bytes=8192)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 500:
            raise BadSupervisorRequest("text: a message of 1-500 characters is required", field="text")
        live = self._supervised(claims, request.match_info["agent_id"])
        if live.session is None:
            raise AgentNotHere(f"agent {live.agent_id}'s desktop is not connected", agent_id=live.agent_id)
        shown = mask_numbers_in_text(text.strip())
        self._notify.send(
            live.session,
            "supervisor_message",
            {
                "from": claims.subject,
                "name": str(claims.extra.get("name", claims.subject)),
                "text": shown,
                "at": self._clock.now(),
            },
        )
        await self._audit.record(
            actor=claims.subject,
            role=str(claims.extra.get("role", "")),
            action="agent_messaged",
            target=live.agent_id,
            details={"length": len(shown)},
        )
        return web.json_response({"agent_id": live.agent_id, "sent": True})

    async def media_token(self, request: web.Request) -> web.Response:
        """The console's softphone joins the site's socket with this token as a supervisor, not
        as an agent at the desk: the team leader stays out of the ACD while listening in. The
        role, team and login id travel along, so taps are checked (and a logout revokes it)."""
        claims = self._claims(request)
        ttl = max(1.0, min(_MEDIA_TTL_S, claims.expires_at - self._clock.now()))
        carried = {k: claims.extra[k] for k in _CARRIED if k in claims.extra}
        token = self._signer.issue("supervisor", claims.subject, site=self._site, ttl_s=ttl, **carried)
        return web.json_response({"token": token, "expires_in_s": round(ttl, 1)})


def _change_key(view: Mapping[str, Any]) -> str:
    """The view without its clocks: a change of state, reason, call or queue depth."""
    agents = [
        (a["agent_id"], a["state"], a["reason"], (a["call"] or {}).get("call_id"), (a["call"] or {}).get("state"))
        for a in view["agents"]
    ]
    queues = [(n, q["waiting"], q["ready"]) for n, q in view["queues"].items()]
    return json.dumps([agents, queues], default=str)


def _dumps(body: Any) -> str:
    return json.dumps(body, default=str)
