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
from central.knowledge.errors import BadArticle, BadQuery, TransitionNotAllowed
from central.knowledge.service import STEPS, KnowledgeService
from central.knowledge.store import KnowledgeStore
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.errors import BadRequest
from cluster.http import read_json
from cluster.tokens import TokenSigner, bearer_claims

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


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise BadArticle("id: a number", field="id")
    return int(raw)


class KnowledgeApi:
    """The one wiring point of the knowledge base: ``install`` adds the routes; ``start`` after the CRM's."""

    def __init__(self, business: BusinessDbSource, signer: TokenSigner, *, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK) -> None:  # fmt: skip
        self.business = business
        self.signer = signer
        self.max_body = max_body_bytes
        self.clock = clock
        self.service: KnowledgeService | None = None

    async def start(self) -> None:
        db = self.business.db
        if db is None:
            raise RuntimeError("the knowledge base starts after the business database is open")
        self.service = KnowledgeService(KnowledgeStore(db.sessions, db.reads), self.clock)

    async def stop(self) -> None:
        self.service = None

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/knowledge/articles", self.create)
        r.add_get("/v1/knowledge/articles", self.search)
        r.add_get("/v1/knowledge/articles/{id}", self.view)
        r.add_put("/v1/knowledge/articles/{id}", self.edit)
        r.add_get("/v1/knowledge/articles/{id}/history", self.history)
        r.add_post("/v1/knowledge/articles/{id}/feedback", self.feedback)
        r.add_post("/v1/knowledge/articles/{id}/{event}", self.step)

    def _who(self, request: web.Request, action: str) -> tuple[str, KnowledgeService]:
        claims = bearer_claims(self.signer, request.headers.get("Authorization", ""), action=action, why=_WHY[action])
        if self.service is None:
            raise BadRequest("the business database is not open yet", error_id="knowledge.unavailable", status=503)
        return claims.subject, self.service

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
        return web.json_response(await service.view(_id(request), latest=latest, count=not latest))

    async def edit(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "knowledge.edit")
        body = await read_json(request, max_bytes=self.max_body)
        return web.json_response(await service.edit(_id(request), who, body))

    async def history(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "knowledge.edit")
        article_id = _id(request)
        await service.store.article(article_id)
        return web.json_response({"history": await service.store.history(article_id)})

    async def feedback(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "knowledge.read")
        body = await read_json(request, max_bytes=self.max_body)
        return web.json_response(await service.feedback(_id(request), who, body))

    async def step(self, request: web.Request) -> web.Response:
        event = request.match_info["event"]
        if event not in STEPS:
            raise TransitionNotAllowed(f"{event}: not a step (one of {', '.join(STEPS)})",
                                       error_id="knowledge.bad_step", status=404, event=event)  # fmt: skip
        who, service = self._who(request, "knowledge.edit" if event == "submit" else "knowledge.approve")
        body = await read_json(request, max_bytes=self.max_body) if request.can_read_body else {}
        return web.json_response(await service.step(_id(request), event, who, body))
