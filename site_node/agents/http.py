"""The agents' HTTP API at a site: log in with a password, get a signed agent token; log out.

    POST /v1/agents/login    {agent_id, password} -> token (429 + Retry-After while locked out)
    POST /v1/agents/logout   Authorization: Bearer <agent token> -> the login session is revoked

Every token re-issued from one login (a failover re-attach) carries the login's ``sid`` and its
``auth_exp``: logging out revokes them all, and no re-issue outlives the login.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from cluster.clock import Clock
from cluster.http import read_json
from cluster.tokens import Claims, TokenSigner, bearer_claims
from site_node.audit import AuditTrail
from site_node.runtime.errors import BadCredentials
from site_node.security.checks import LoginChecks
from site_node.storage import Storage


class Revoker(Protocol):
    async def revoke(self, ident: str, *, until: float) -> None: ...


class AgentsApi:
    def __init__(
        self,
        *,
        site: str,
        storage: Callable[[], Storage],
        checks: Callable[[], LoginChecks],
        revoker: Revoker,
        signer: TokenSigner,
        clock: Clock,
        agent_ttl_s: float,
        backup_sites: list[str],
        audit: AuditTrail,
    ) -> None:
        self._site = site
        self._audit = audit
        self._storage = storage
        self._checks = checks
        self._revoker = revoker
        self._signer = signer
        self._clock = clock
        self._agent_ttl_s = agent_ttl_s
        self._backup_sites = list(backup_sites)

    def install(self, app: web.Application, guard: Callable[..., object]) -> None:
        app.router.add_post("/v1/agents/login", guard(self.login))  # type: ignore[arg-type]
        app.router.add_post("/v1/agents/logout", guard(self.logout))  # type: ignore[arg-type]

    async def login(self, request: web.Request) -> web.Response:
        body = await read_json(request, max_bytes=4096)
        agent_id, password = body.get("agent_id"), body.get("password")
        if not isinstance(agent_id, str) or not isinstance(password, str) or len(password) > 256 or len(agent_id) > 64:
            raise BadCredentials("agent_id and password are required")
        address = request.remote or "unknown"
        storage, checks = self._storage(), self._checks()
        await checks.check(agent_id, address)  # locked: 429, the password is not even checked
        view = await storage.directory.authenticate(agent_id, password)
        now = self._clock.now()
        if view is None or not view.active:
            locked = await checks.failed(agent_id, address)
            await self._audit.record(actor=agent_id, action="login_failed", target=self._site,
                                     details={"client": address})
            if locked:
                await self._audit.record(actor=agent_id, action="login_locked", target=agent_id,
                                         details={"client": address})
            raise BadCredentials("unknown agent or wrong password")
        await checks.succeeded(agent_id)
        await self._audit.record(actor=view.id, role=view.role, action="login", target=self._site,
                                 details={"client": address})
        token = self._signer.issue(
            "agent",
            view.id,
            site=self._site,
            ttl_s=self._agent_ttl_s,
            name=view.name,
            skills=view.skills,
            role=view.role,
            team=view.team,
            backup_sites=self._backup_sites,
            home_site=self._site,
            sid=secrets.token_hex(12),
            auth_exp=int(now + self._agent_ttl_s),
        )
        return web.json_response(
            {"token": token, "agent": {"id": view.id, "name": view.name, "skills": view.skills, "role": view.role}}
        )

    async def logout(self, request: web.Request) -> web.Response:
        claims = bearer_claims(self._signer, request.headers.get("Authorization", ""), action="calls.handle",
                               why="any agent may log out")
        await self._audit.record(actor=claims.subject, role=str(claims.extra.get("role", "")), action="logout",
                                 target=self._site, details={"reason": "http"})
        await self.revoke(claims, reason="logout")
        return web.json_response({"agent_id": claims.subject, "revoked": True})

    async def revoke(self, claims: Claims, *, reason: str) -> None:
        """Refuse this token and every token of its login from now on (audited)."""
        ident = str(claims.extra.get("sid") or claims.token_id)
        until = max(claims.expires_at, float(claims.extra.get("auth_exp", 0))) + 3600.0
        await self._revoker.revoke(ident, until=until)
        await self._audit.record(actor=claims.subject, role=str(claims.extra.get("role", "")),
                                 action="token_revoked", target=ident[:8] + "...", details={"reason": reason})
