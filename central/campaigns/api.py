"""The campaigns API of central (any replica serves it; every action role-checked).

POST   /v1/campaigns                         create a draft (campaigns.manage)
GET    /v1/campaigns                         every campaign (campaigns.work)
GET    /v1/campaigns/{id}                    one, with progress by state and outcome
POST   /v1/campaigns/{id}/contacts?dry_run=1 a CSV contact list -> validation report (campaigns.manage)
POST   /v1/campaigns/{id}/preview            the contact offered to me now (200) or none (204)
GET    /v1/campaigns/{id}/contacts/{cid}     a contact with its steps
POST   /v1/campaigns/{id}/contacts/{cid}     {event: skip|dial|answered|outcome|block, ...} (my contact)
POST   /v1/campaigns/{id}/{event}            start | pause | resume | finish (campaigns.manage)
POST   /v1/do-not-call   {phone, reason}     bar a number from every campaign (campaigns.manage)
DELETE /v1/do-not-call/{phone}
"""

from __future__ import annotations

import io
from typing import Any, Protocol

from aiohttp import web

from central.business.db import BusinessDb
from central.business.http import ServiceGate, path_id
from central.campaigns.errors import BadList, BadPolicy
from central.campaigns.service import CampaignService
from central.campaigns.store import CampaignStore
from central.crm.consent import CrmConsent
from central.crm.normalise import phone_key
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.http import read_json
from cluster.tokens import TokenSigner

MAX_LIST_BYTES = 64 * 1024 * 1024
_WHY = {
    "campaigns.manage": "only team leaders, managers and administrators run campaigns",
    "campaigns.work": "only the center's call roles work campaigns",
}


class BusinessDbSource(Protocol):
    """Whoever opened the replica's business database (the CRM's wiring)."""

    @property
    def db(self) -> BusinessDb | None: ...


class CampaignsApi:
    """The one wiring point of campaigns: ``install`` adds the routes; ``start`` after the CRM's."""

    def __init__(self, business: BusinessDbSource, signer: TokenSigner, *, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK) -> None:  # fmt: skip
        self.business = business
        self.gate: ServiceGate[CampaignService] = ServiceGate(signer, _WHY, unavailable_id="campaign.unavailable")
        self.max_body = max_body_bytes
        self.clock = clock

    async def start(self) -> None:
        db = self.business.db
        if db is None:
            raise RuntimeError("campaigns start after the business database is open")
        self.gate.service = CampaignService(CampaignStore(db.sessions, db.reads), CrmConsent(db.reads), self.clock)

    async def stop(self) -> None:
        self.gate.service = None

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/campaigns", self.create)
        r.add_get("/v1/campaigns", self.all)
        r.add_get("/v1/campaigns/{id}", self.view)
        r.add_post("/v1/campaigns/{id}/contacts", self.import_list)
        r.add_post("/v1/campaigns/{id}/preview", self.preview)
        r.add_get("/v1/campaigns/{id}/contacts/{cid}", self.contact)
        r.add_post("/v1/campaigns/{id}/contacts/{cid}", self.step)
        r.add_post("/v1/campaigns/{id}/{event}", self.transition)
        r.add_post("/v1/do-not-call", self.bar)
        r.add_delete("/v1/do-not-call/{phone}", self.unbar)

    @property
    def service(self) -> CampaignService | None:
        return self.gate.service

    def _who(self, request: web.Request, action: str) -> tuple[str, CampaignService]:
        claims, service = self.gate.enter(request, action)
        return claims.subject, service

    async def create(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "campaigns.manage")
        return web.json_response(await service.create(who, await read_json(request, max_bytes=self.max_body)),
                                 status=201)  # fmt: skip

    async def all(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "campaigns.work")
        return web.json_response({"campaigns": await service.store.all()})

    async def view(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "campaigns.work")
        return web.json_response(await service.view(path_id(request, BadPolicy)))

    async def import_list(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "campaigns.manage")
        if request.content_length is not None and request.content_length > MAX_LIST_BYTES:
            raise BadList(f"a list larger than {MAX_LIST_BYTES} bytes", status=413)
        body = await request.content.read(MAX_LIST_BYTES + 1)
        if len(body) > MAX_LIST_BYTES:
            raise BadList(f"a list larger than {MAX_LIST_BYTES} bytes", status=413)
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadList("the list is not UTF-8 text", error_id="campaign.bad_encoding") from None
        dry_run = request.query.get("dry_run", "") in ("1", "true", "yes")
        return web.json_response(await service.import_list(path_id(request, BadPolicy), io.StringIO(text, newline=""),
                                                           dry_run=dry_run))  # fmt: skip

    async def preview(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "campaigns.work")
        offered = await service.preview(path_id(request, BadPolicy), who)
        return web.Response(status=204) if offered is None else web.json_response(offered)

    async def contact(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "campaigns.work")
        row = await service.store.contact(path_id(request, BadPolicy), path_id(request, BadPolicy, "cid"))
        return web.json_response(row | {"steps": await service.store.steps(row["id"])})

    async def step(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "campaigns.work")
        body: dict[str, Any] = await read_json(request, max_bytes=self.max_body)
        campaign, contact = path_id(request, BadPolicy), path_id(request, BadPolicy, "cid")
        return web.json_response(await service.step(campaign, contact, body, who))

    async def transition(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "campaigns.manage")
        return web.json_response(await service.transition(path_id(request, BadPolicy), request.match_info["event"]))

    async def bar(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "campaigns.manage")
        body = await read_json(request, max_bytes=self.max_body)
        reason = str(body.get("reason", "")).strip()
        if not reason:
            raise BadPolicy("a do-not-call entry needs a reason", field="reason")
        phone = phone_key(str(body.get("phone", "")))
        await service.store.add_do_not_call(phone, reason[:200], who, self.clock.now())
        return web.json_response({"phone": phone, "reason": reason[:200]}, status=201)

    async def unbar(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "campaigns.manage")
        removed = await service.store.remove_do_not_call(phone_key(request.match_info["phone"]))
        return web.json_response({"removed": removed})
