"""The SOP API of central, and the feature's one wiring point (:class:`SopApi`); any replica
serves it, every action role-checked (:mod:`cluster.roles`).

POST /v1/sop/definitions                    publish a version: JSON, or YAML (Content-Type: application/yaml)  sop.edit
GET  /v1/sop/definitions                    the newest version of each                                     sop.run
GET  /v1/sop/definitions/{key}?version=n    a version's document (the newest by default)                   sop.run
POST /v1/sop/instances                      {key, data?, call_id?, version?}: start one                    sop.run
GET  /v1/sop/instances/{id}?channel=        where it is, the task's form for the channel (agent | web)     sop.run
GET  /v1/sop/instances/{id}/history         every event: who, when, where it went                          sop.run
POST /v1/sop/instances/{id}/submit          {element, data, channel?, revision?}                           sop.run
POST /v1/sop/instances/{id}/rollback        {to}: back to an earlier user task, its data restored          sop.run
POST /v1/sop/instances/{id}/cancel          {reason}                                                       sop.run

Timers: a sweep every ``timer_poll_s`` moves on the instances whose timer is due (owned: started
and stopped with the service; replicas racing for one instance are fenced by its revision).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from aiohttp import web

from central.business.db import BusinessDb
from central.sop.definition import load_document
from central.sop.errors import BadDefinition
from central.sop.forms import CHANNELS, NAME
from central.sop.resolver import Resolver
from central.sop.service import SopService
from central.sop.store import SopStore
from cluster.clock import LOOP_SCHEDULER, SYSTEM_CLOCK, Clock, Scheduler
from cluster.errors import BadRequest
from cluster.http import read_json
from cluster.periodic import Periodic
from cluster.tokens import Claims, TokenSigner, bearer_claims

_WHY = {
    "sop.run": "only the center's call roles run SOPs",
    "sop.edit": "only team leaders, managers and administrators publish SOP definitions",
}
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ELEMENT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class BusinessDbSource(Protocol):
    @property
    def db(self) -> BusinessDb | None: ...


def _bad(message: str, field: str) -> BadDefinition:
    return BadDefinition(message, error_id="sop.bad_request", field=field)


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 12:
        raise _bad("id: a number", "id")
    return int(raw)


def _text(body: dict[str, Any], key: str, pattern: re.Pattern[str], *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise _bad(f"{key}: {'an element id' if pattern is _ELEMENT else 'a name'}", key)
    return value


def _only(body: dict[str, Any], keys: set[str]) -> None:
    unknown = sorted(set(body) - keys)
    if unknown:
        raise _bad(f"{unknown[0]} is not a key here (one of {', '.join(sorted(keys))})", unknown[0])


def _role(claims: Claims) -> str | None:
    role = claims.extra.get("role")
    return role if isinstance(role, str) else None


def _version(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit() or int(raw) < 1:
        raise _bad("version: a version number", "version")
    return int(raw)


class SopApi:
    def __init__(self, business: BusinessDbSource, signer: TokenSigner, resolver: Resolver, *, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK, scheduler: Scheduler = LOOP_SCHEDULER,
                 timer_poll_s: float = 1.0) -> None:  # fmt: skip
        self.business = business
        self.signer = signer
        self.resolver = resolver
        self.max_body = max_body_bytes
        self.clock = clock
        self.scheduler = scheduler
        self.timer_poll_s = timer_poll_s
        self.service: SopService | None = None
        self._timers: Periodic | None = None

    async def start(self) -> None:
        db = self.business.db
        if db is None:
            raise RuntimeError("SOP flows start after the business database is open")
        self.service = SopService(SopStore(db.sessions, db.reads), self.resolver, self.clock)
        self._timers = Periodic("sop-timers", self.timer_poll_s, self.service.fire_due, scheduler=self.scheduler)
        self._timers.start()

    async def stop(self) -> None:
        if self._timers is not None:
            await self._timers.stop()
            self._timers = None
        self.service = None

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/sop/definitions", self.publish)
        r.add_get("/v1/sop/definitions", self.definitions)
        r.add_get("/v1/sop/definitions/{key}", self.definition)
        r.add_post("/v1/sop/instances", self.start_instance)
        r.add_get("/v1/sop/instances/{id}", self.view)
        r.add_get("/v1/sop/instances/{id}/history", self.history)
        r.add_post("/v1/sop/instances/{id}/submit", self.submit)
        r.add_post("/v1/sop/instances/{id}/rollback", self.roll_back)
        r.add_post("/v1/sop/instances/{id}/cancel", self.cancel)

    def _who(self, request: web.Request, action: str) -> tuple[Claims, SopService]:
        claims = bearer_claims(self.signer, request.headers.get("Authorization", ""), action=action, why=_WHY[action])
        if self.service is None:
            raise BadRequest("the business database is not open yet", error_id="sop.unavailable", status=503)
        return claims, self.service

    async def publish(self, request: web.Request) -> web.Response:
        claims, service = self._who(request, "sop.edit")
        if "yaml" in request.content_type:
            raw = await request.content.read(self.max_body + 1)
            if len(raw) > self.max_body:
                raise BadRequest(f"the body is over {self.max_body} bytes", error_id="request.too_large", status=413)
            document = load_document(raw.decode("utf-8", errors="replace"))
        else:
            document = await read_json(request, max_bytes=self.max_body)
        return web.json_response(await service.publish(claims.subject, document), status=201)

    async def definitions(self, request: web.Request) -> web.Response:
        _claims, service = self._who(request, "sop.run")
        return web.json_response({"definitions": await service.store.definitions()})

    async def definition(self, request: web.Request) -> web.Response:
        _claims, service = self._who(request, "sop.run")
        key = request.match_info["key"]
        if not _KEY.match(key):
            raise _bad("key: a definition's key", "key")
        return web.json_response(await service.store.definition(key, _version(request.query.get("version"))))

    async def start_instance(self, request: web.Request) -> web.Response:
        claims, service = self._who(request, "sop.run")
        body = await read_json(request, max_bytes=self.max_body)
        _only(body, {"key", "data", "call_id", "version"})
        key = _text(body, "key", _KEY)
        call_id = body.get("call_id")
        if call_id is not None and (not isinstance(call_id, str) or not 0 < len(call_id) <= 64):
            raise _bad("call_id: the call's id", "call_id")
        assert key is not None
        view = await service.start(claims.subject, _role(claims), key, body.get("data"), call_id,
                                   _version(body.get("version")))  # fmt: skip
        return web.json_response(view, status=201)

    async def view(self, request: web.Request) -> web.Response:
        _claims, service = self._who(request, "sop.run")
        channel = request.query.get("channel", "agent")
        if channel not in CHANNELS:
            raise _bad(f"channel: one of {', '.join(CHANNELS)}", "channel")
        return web.json_response(await service.view(_id(request), channel))

    async def history(self, request: web.Request) -> web.Response:
        _claims, service = self._who(request, "sop.run")
        instance_id = _id(request)
        await service.store.instance(instance_id)
        return web.json_response({"history": await service.store.history(instance_id)})

    async def submit(self, request: web.Request) -> web.Response:
        claims, service = self._who(request, "sop.run")
        instance_id = _id(request)
        body = await read_json(request, max_bytes=self.max_body)
        _only(body, {"element", "data", "channel", "revision"})
        element = _text(body, "element", _ELEMENT)
        channel = body.get("channel", "agent")
        if channel not in CHANNELS:
            raise _bad(f"channel: one of {', '.join(CHANNELS)}", "channel")
        assert element is not None
        view = await service.submit(instance_id, claims.subject, _role(claims), element, channel, body.get("data", {}),
                                    _version(body.get("revision")))  # fmt: skip
        return web.json_response(view)

    async def roll_back(self, request: web.Request) -> web.Response:
        claims, service = self._who(request, "sop.run")
        instance_id = _id(request)
        body = await read_json(request, max_bytes=self.max_body)
        _only(body, {"to"})
        to = _text(body, "to", _ELEMENT)
        assert to is not None
        return web.json_response(await service.roll_back(instance_id, claims.subject, _role(claims), to))

    async def cancel(self, request: web.Request) -> web.Response:
        claims, service = self._who(request, "sop.run")
        instance_id = _id(request)
        body = await read_json(request, max_bytes=self.max_body) if request.can_read_body else {}
        _only(body, {"reason"})
        reason = _text(body, "reason", NAME, required=False) or "cancelled"
        return web.json_response(await service.cancel(instance_id, claims.subject, reason))
