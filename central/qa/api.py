"""The QA API of central (any replica serves it; every action role-checked, cluster.roles).

POST /v1/qa/forms/{form_id}                 publish the next version of a form (qa.manage)
GET  /v1/qa/forms/{form_id}?version=        a version of a form, the latest by default (qa.evaluate)
POST /v1/qa/evaluations                     score a call: form_id, version, call {call_id, agent_id, queue,
                                            team}, answers, comments [{at_s, text}] (qa.evaluate)
GET  /v1/qa/evaluations/mine                the caller's own evaluations (qa.own)
POST /v1/qa/evaluations/{id}/acknowledge    the evaluated agent accepts it (qa.own)
POST /v1/qa/evaluations/{id}/dispute        ... or disputes it: {response} (qa.own)
GET  /v1/qa/results?by=agent|team|queue&from=&to=   counts, mean score, auto-fails (qa.evaluate)
GET  /v1/qa/calibration/{call_id}?form_id=&version= every evaluator's score of one call, the spread
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from aiohttp import web

from central.business.db import BusinessDb
from central.business.http import ServiceGate, path_id
from central.qa.errors import BadAnswer, UnknownEvaluation
from central.qa.store import GroupBy, QaStore
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.http import read_json
from cluster.tokens import TokenSigner

_WHY = {
    "qa.own": "only the center's call roles read their own evaluations",
    "qa.evaluate": "only team leaders, managers and administrators score calls and read QA results",
    "qa.manage": "only managers and administrators publish scorecard forms",
}
_BY: dict[str, GroupBy] = {"agent": "agent_id", "team": "team", "queue": "queue"}


class BusinessDbSource(Protocol):
    @property
    def db(self) -> BusinessDb | None: ...


def _version(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise BadAnswer("version: a number", field="version")
    return int(raw)


def _number(raw: str | None, name: str, default: float) -> float:
    try:
        return default if raw in (None, "") else float(raw)
    except ValueError:
        raise BadAnswer(f"{name}: epoch seconds", field=name) from None


class QaApi:
    def __init__(self, business: BusinessDbSource, signer: TokenSigner, *, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK) -> None:  # fmt: skip
        self.business = business
        self.gate: ServiceGate[QaStore] = ServiceGate(signer, _WHY, unavailable_id="qa.unavailable")
        self.max_body = max_body_bytes
        self.clock = clock

    async def start(self) -> None:
        db = self.business.db
        if db is None:
            raise RuntimeError("QA starts after the business database is open")
        self.gate.service = QaStore(db.sessions)

    async def stop(self) -> None:
        self.gate.service = None

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/qa/forms/{form_id}", self.publish)
        r.add_get("/v1/qa/forms/{form_id}", self.form)
        r.add_post("/v1/qa/evaluations", self.evaluate)
        r.add_get("/v1/qa/evaluations/mine", self.mine)
        r.add_post("/v1/qa/evaluations/{id}/{answer}", self.respond)
        r.add_get("/v1/qa/results", self.results)
        r.add_get("/v1/qa/calibration/{call_id}", self.calibration)

    async def publish(self, request: web.Request) -> web.Response:
        claims, store = self.gate.enter(request, "qa.manage")
        body = await read_json(request, max_bytes=self.max_body)
        form = await store.publish_form(request.match_info["form_id"][:40], body, claims.subject, self.clock.now())
        return web.json_response({"form_id": form.form_id, "version": form.version}, status=201)

    async def form(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "qa.evaluate")
        form = await store.form(request.match_info["form_id"], _version(request.query.get("version")))
        return web.json_response(asdict(form))

    async def evaluate(self, request: web.Request) -> web.Response:
        claims, store = self.gate.enter(request, "qa.evaluate")
        body: dict[str, Any] = await read_json(request, max_bytes=self.max_body)
        call, answers, comments = body.get("call"), body.get("answers"), body.get("comments", [])
        if not isinstance(call, dict) or not isinstance(call.get("call_id"), str):
            raise BadAnswer("call: an object with the call_id and agent_id of the recorded call", field="call")
        if not isinstance(answers, dict):
            raise BadAnswer("answers: an object, criterion id -> answer", field="answers")
        if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
            raise BadAnswer("comments: a list of {at_s, text}", field="comments")
        version = body.get("version")
        form = await store.form(str(body.get("form_id", "")), version if isinstance(version, int) else None)
        row = await store.evaluate(form, call, claims.subject, answers, comments, self.clock.now())
        return web.json_response(row, status=201)

    async def mine(self, request: web.Request) -> web.Response:
        claims, store = self.gate.enter(request, "qa.own")
        return web.json_response({"evaluations": await store.of_agent(claims.subject)})

    async def respond(self, request: web.Request) -> web.Response:
        claims, store = self.gate.enter(request, "qa.own")
        answer = request.match_info["answer"]
        if answer not in ("acknowledge", "dispute"):
            raise UnknownEvaluation(f"{answer}: acknowledge or dispute", field="answer")
        dispute = None
        if answer == "dispute":
            body = await read_json(request, max_bytes=self.max_body)
            dispute = str(body.get("response", ""))
        row = await store.respond(path_id(request, BadAnswer), claims.subject, dispute=dispute)
        return web.json_response(row)

    async def results(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "qa.evaluate")
        q = request.query
        by = _BY.get(q.get("by", "agent"))
        if by is None:
            raise BadAnswer("by: agent, team or queue", field="by")
        rows = await store.results(by, _number(q.get("from"), "from", 0.0), _number(q.get("to"), "to", 1e12))
        return web.json_response({"results": rows})

    async def calibration(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "qa.evaluate")
        form = await store.form(request.query.get("form_id", ""), _version(request.query.get("version")))
        spread = await store.calibration(request.match_info["call_id"], form)
        return web.json_response(asdict(spread))
