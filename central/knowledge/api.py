"""The knowledge API of central (any replica serves it; every action role-checked).

POST /v1/knowledge/articles                      create a draft article or Q&A pair (knowledge.edit)
GET  /v1/knowledge/articles?q=&tag=&lang=&limit= search the published ones, ranked, highlighted
GET  /v1/knowledge/articles/{id}                 the published version (a view); ?latest=1 the newest (editors)
PUT  /v1/knowledge/articles/{id}                 edit the draft / start the next version (knowledge.edit)
GET  /v1/knowledge/articles/{id}/history         every edit and step: who, when (knowledge.edit)
POST /v1/knowledge/articles/{id}/feedback        {helpful, comment}: helpful or not (knowledge.read)
POST /v1/knowledge/articles/{id}/{event}         submit (knowledge.edit); approve | reject | publish (knowledge.approve)
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from central.business.db import BusinessDb
from central.business.http import ServiceGate, path_id
from central.knowledge.errors import BadArticle, BadQuery, TransitionNotAllowed
from central.knowledge.service import STEPS, KnowledgeService
from central.knowledge.store import KnowledgeStore
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.http import read_json
from cluster.tokens import TokenSigner

MAX_LIMIT = 50
_WHY = {
    "knowledge.read": "only the center's call roles read the knowledge base",
    "knowledge.edit": "only team leaders, managers and administrators edit the knowledge base",
    "knowledge.approve": "only managers and administrators approve and publish knowledge",
}


class BusinessDbSource(Protocol):
    """Whoever opened the replica's business database (the CRM's wiring)."""

    @property
    def db(self) -> BusinessDb | None: ...


class KnowledgeApi:
    """The one wiring point of the knowledge base: ``install`` adds the routes; ``start`` after the CRM's."""

    def __init__(self, business: BusinessDbSource, signer: TokenSigner, *, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK) -> None:  # fmt: skip
        self.business = business
        self.gate: ServiceGate[KnowledgeService] = ServiceGate(signer, _WHY, unavailable_id="knowledge.unavailable")
        self.max_body = max_body_bytes
        self.clock = clock

    async def start(self) -> None:
        db = self.business.db
        if db is None:
            raise RuntimeError("the knowledge base starts after the business database is open")
        self.gate.service = KnowledgeService(KnowledgeStore(db.sessions, db.reads), self.clock)

    async def stop(self) -> None:
        self.gate.service = None

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/knowledge/articles", self.create)
        r.add_get("/v1/knowledge/articles", self.search)
        r.add_get("/v1/knowledge/articles/{id}", self.view)
        r.add_put("/v1/knowledge/articles/{id}", self.edit)
        r.add_get("/v1/knowledge/articles/{id}/history", self.history)
        r.add_post("/v1/knowledge/articles/{id}/feedback", self.feedback)
        r.add_post("/v1/knowledge/articles/{id}/{event}", self.step)

    @property
    def service(self) -> KnowledgeService | None:
        return self.gate.service

    def _who(self, request: web.Request, action: str) -> tuple[str, KnowledgeService]:
        claims, service = self.gate.enter(request, action)
        return claims.subject, service

    async def create(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "knowledge.edit")
        return web.json_response(await service.create(who, await read_json(request, max_bytes=self.max_body)),
                                 status=201)  # fmt: skip

    async def search(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "knowledge.read")
        raw = request.query.get("limit", "10")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise BadQuery(f"limit: 1 to {MAX_LIMIT}", field="limit")
        hits = await service.search(request.query.get("q", ""), request.query.getall("tag", []),
                                    request.query.get("lang"), int(raw))  # fmt: skip
        return web.json_response({"articles": hits})

    async def view(self, request: web.Request) -> web.Response:
        latest = request.query.get("latest", "") in ("1", "true", "yes")
        _who, service = self._who(request, "knowledge.edit" if latest else "knowledge.read")
        return web.json_response(await service.view(path_id(request, BadArticle), latest=latest, count=not latest))

    async def edit(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "knowledge.edit")
        body = await read_json(request, max_bytes=self.max_body)
        return web.json_response(await service.edit(path_id(request, BadArticle), who, body))

    async def history(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "knowledge.edit")
        article_id = path_id(request, BadArticle)
        await service.store.article(article_id)
        return web.json_response({"history": await service.store.history(article_id)})

    async def feedback(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "knowledge.read")
        body = await read_json(request, max_bytes=self.max_body)
        return web.json_response(await service.feedback(path_id(request, BadArticle), who, body))

    async def step(self, request: web.Request) -> web.Response:
        event = request.match_info["event"]
        if event not in STEPS:
            raise TransitionNotAllowed(f"{event}: not a step (one of {', '.join(STEPS)})",
                                       error_id="knowledge.bad_step", status=404, event=event)  # fmt: skip
        who, service = self._who(request, "knowledge.edit" if event == "submit" else "knowledge.approve")
        body = await read_json(request, max_bytes=self.max_body) if request.can_read_body else {}
        return web.json_response(await service.step(path_id(request, BadArticle), event, who, body))
