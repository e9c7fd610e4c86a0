"""The QA API over HTTP on a real migrated SQLite business database: who may do what, a call scored,
the agent disputing their own evaluation, results and calibration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from central.business.db import BusinessDb, migrate
from central.qa.api import QaApi
from cluster.clock import ManualClock
from cluster.http import HttpServer, make_app
from cluster.tokens import TokenSigner
from tests.qa.test_scorecards import FORM

SECRET = "a-test-secret-of-enough-length-for-hs256"


class _Business:
    def __init__(self, db: BusinessDb) -> None:
        self.db = db


@pytest.fixture
async def qa(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'business.db'}"
    await migrate(url)
    db = BusinessDb(url)
    clock = ManualClock()
    signer = TokenSigner(SECRET, clock=clock)
    api = QaApi(_Business(db), signer, max_body_bytes=64 * 1024, clock=clock)
    app = make_app(lambda: {"ok": True})
    api.install(app)
    await api.start()
    server = HttpServer(app, "127.0.0.1", 0, port_flag="--port")
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield {"url": server.url, "signer": signer, "http": http}
    finally:
        await server.stop()
        await api.stop()
        await db.close()


async def _call(qa: dict[str, Any], method: str, path: str, who: str, role: str,
                body: Any = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    token = qa["signer"].issue("agent", who, role=role)
    async with qa["http"].request(method, qa["url"] + path, json=body,
                                  headers={"Authorization": f"Bearer {token}"}) as r:  # fmt: skip
        return r.status, await r.json()


async def test_a_call_is_scored_and_its_agent_disputes_it(qa: dict[str, Any]) -> None:
    assert (await _call(qa, "POST", "/v1/qa/forms/retail", "lead-1", "team_leader", FORM))[0] == 403
    assert await _call(qa, "POST", "/v1/qa/forms/retail", "mgr-1", "manager", FORM) == (
        201, {"form_id": "retail", "version": 1})  # fmt: skip
    status, body = await _call(qa, "POST", "/v1/qa/forms/retail", "mgr-1", "manager", {**FORM, "sections": [{}]})
    assert (status, body["error_id"], body["details"]["field"]) == (400, "qa.bad_form", "sections[0].criteria")

    evaluation: dict[str, Any] = {"form_id": "retail", "call": {"call_id": "c1", "agent_id": "a1", "queue": "loans"},
                  "answers": {"greet": True, "verify": False, "empathy": 4, "offer": None},
                  "comments": [{"at_s": 12.0, "text": "no identity check"}]}  # fmt: skip
    assert (await _call(qa, "POST", "/v1/qa/evaluations", "a2", "agent", evaluation))[0] == 403
    status, scored = await _call(qa, "POST", "/v1/qa/evaluations", "lead-1", "team_leader", evaluation)
    assert (status, scored["score"], scored["auto_failed"]) == (201, 0.0, True)
    bad = {**evaluation, "answers": {**evaluation["answers"], "empathy": 9}}
    status, body = await _call(qa, "POST", "/v1/qa/evaluations", "lead-1", "team_leader", bad)
    assert (status, body["error_id"], body["details"]["field"]) == (400, "qa.bad_answer", "answers.empathy")

    assert (await _call(qa, "GET", "/v1/qa/evaluations/mine", "a2", "agent"))[1] == {"evaluations": []}
    status, body = await _call(qa, "POST", f"/v1/qa/evaluations/{scored['id']}/dispute", "a2", "agent",
                               {"response": "not mine"})  # fmt: skip
    assert (status, body["error_id"]) == (403, "qa.not_yours")
    status, body = await _call(qa, "POST", f"/v1/qa/evaluations/{scored['id']}/dispute", "a1", "agent",
                               {"response": "verified at 0:40"})  # fmt: skip
    assert (status, body["state"]) == (200, "disputed")
    _status, mine = await _call(qa, "GET", "/v1/qa/evaluations/mine", "a1", "agent")
    assert [(e["call_id"], e["state"], e["comments"]) for e in mine["evaluations"]] == [
        ("c1", "disputed", [{"at_s": 12.0, "text": "no identity check"}])]  # fmt: skip

    assert (await _call(qa, "GET", "/v1/qa/results?by=queue", "a1", "agent"))[0] == 403
    status, body = await _call(qa, "GET", "/v1/qa/results?by=queue", "lead-1", "team_leader")
    assert (status, body["results"]) == (200, [{"queue": "loans", "evaluations": 1, "mean_score": 0.0,
                                                "auto_failed": 1}])  # fmt: skip
    second = {**evaluation, "answers": {**evaluation["answers"], "verify": True}}
    await _call(qa, "POST", "/v1/qa/evaluations", "mgr-1", "manager", second)
    status, spread = await _call(qa, "GET", "/v1/qa/calibration/c1?form_id=retail", "lead-1", "team_leader")
    assert (status, spread["scores"], spread["range"], spread["disagreements"]) == (200, [0.0, 100.0], 100.0,
                                                                                     ["verify"])  # fmt: skip
