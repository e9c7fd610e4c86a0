"""The agents' HTTP API at a site: log in with a password, get a signed agent token."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from cluster.clock import Clock
from cluster.http import read_json
from cluster.tokens import TokenSigner
from site_node.audit import AuditTrail
from site_node.runtime.errors import BadCredentials
from site_node.storage import Storage


class AgentsApi:
    def __init__(
        self,
        *,
        site: str,
        storage: Callable[[], Storage],
        signer: TokenSigner,
        clock: Clock,
        agent_ttl_s: float,
        backup_sites: list[str],
        audit: AuditTrail,
    ) -> None:
        self._site = site
        self._audit = audit
        self._storage = storage
        self._signer = signer
        self._clock = clock
        self._agent_ttl_s = agent_ttl_s
        self._backup_sites = list(backup_sites)

    def install(self, app: web.Application, guard: Callable[..., object]) -> None:
        app.router.add_post("/v1/agents/login", guard(self.login))  # type: ignore[arg-type]

    async def login(self, request: web.Request) -> web.Response:
        body = await read_json(request, max_bytes=4096)
        agent_id, password = body.get("agent_id"), body.get("password")
        if not isinstance(agent_id, str) or not isinstance(password, str) or len(password) > 256:
            raise BadCredentials("agent_id and password are required")
        storage = self._storage()
        view = await storage.directory.authenticate(agent_id, password)
        if view is None or not view.active:
            await self._audit.record(actor=agent_id[:64], action="login_failed", target=self._site,
                                     details={"client": request.remote or ""})
            raise BadCredentials("unknown agent or wrong password")
        await self._audit.record(actor=view.id, role=view.role, action="login", target=self._site,
                                 details={"client": request.remote or ""})
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
        )
        return web.json_response(
            {"token": token, "agent": {"id": view.id, "name": view.name, "skills": view.skills, "role": view.role}}
        )
