"""Who is locked out, and lifting a lock (an authorised person's decision, audited).

    GET    /v1/lockouts                      locked customers (PIN), agents and addresses (login)
    DELETE /v1/lockouts/{kind}/{subject}     unlock: kind is pin, login or login_address

Both need the ``lockouts.unlock`` permission (:mod:`cluster.roles`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from cluster.clock import Clock
from cluster.errors import BadRequest
from cluster.lockouts import Lockouts
from cluster.tokens import TokenSigner, bearer_claims
from site_node.security.checks import Audit

_WHY = "only team leaders, managers and administrators see and lift lockouts"


class LockoutsApi:
    def __init__(
        self,
        *,
        lockouts: Callable[[], Mapping[str, Lockouts]],
        signer: TokenSigner,
        audit: Audit,
        clock: Clock,
        site: str,
    ) -> None:
        self._lockouts = lockouts
        self._signer = signer
        self._audit = audit
        self._clock = clock
        self._site = site

    def install(self, app: web.Application, guard: Callable[..., Any]) -> None:
        app.router.add_get("/v1/lockouts", guard(self.list_locked))
        app.router.add_delete("/v1/lockouts/{kind}/{subject}", guard(self.unlock))

    async def list_locked(self, request: web.Request) -> web.Response:
        bearer_claims(self._signer, request.headers.get("Authorization", ""), action="lockouts.unlock", why=_WHY)
        now = self._clock.now()
        out = []
        for lockouts in self._lockouts().values():
            for lock in await lockouts.locked():
                out.append({
                    "kind": lock.kind, "subject": lock.subject, "failures": lock.strikes.failures,
                    "locked_until": lock.strikes.locked_until,
                    "retry_after_s": round(lock.strikes.retry_after(now), 1),
                })
        return web.json_response({"locked": out})

    async def unlock(self, request: web.Request) -> web.Response:
        claims = bearer_claims(
            self._signer, request.headers.get("Authorization", ""), action="lockouts.unlock", why=_WHY
        )
        kind, subject = request.match_info["kind"], request.match_info["subject"]
        lockouts = self._lockouts().get(kind)
        if lockouts is None:
            raise BadRequest(
                f"no lockout kind {kind!r}; one of {sorted(self._lockouts())}", error_id="lockout.bad_kind"
            )
        if not subject or len(subject) > 128:
            raise BadRequest("subject must be 1 to 128 characters", error_id="request.bad_field")
        existed = await lockouts.unlock(subject)
        await self._audit.record(actor=claims.subject, role=str(claims.extra.get("role", "")),
                                 action=f"{kind}_unlocked", target=subject, details={"had_record": existed})
        return web.json_response({"kind": kind, "subject": subject, "unlocked": existed})
