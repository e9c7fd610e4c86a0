"""The knowledge base through central's API on a real database (SQLite; one PostgreSQL run): drafts
reviewed by somebody else and published while the next version is edited, search in English and
Chinese ranked with usage and feedback and highlighted, the roles, and bad input changing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from central.crm.api import CrmApi
from central.knowledge.api import KnowledgeApi
from cluster.tokens import TokenSigner
from tests.crm.conftest import BusinessPart, CrmServer, serve
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401

BASE = "/v1/knowledge/articles"


def _parts(crm: CrmApi, signer: TokenSigner) -> list[BusinessPart]:
    return [KnowledgeApi(crm, signer, max_body_bytes=65536)]


@pytest.fixture
async def business(tmp_path: Path) -> AsyncIterator[CrmServer]:
    async for server in serve(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}", parts=_parts):
        yield server


@pytest.fixture
async def business_pg(request: pytest.FixtureRequest) -> AsyncIterator[CrmServer]:
    server_url = str(request.getfixturevalue("postgres_url"))
    url = await create_database(server_url)
    try:
        async for server in serve(url, parts=_parts):
            yield server
    finally:
        await drop_database(server_url, url)


async def _call(http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str],
                body: Any = None) -> tuple[int, Any]:  # fmt: skip
    async with http.request(method, url, json=body, headers=headers) as r:
        return r.status, await r.json()


async def _published(http: aiohttp.ClientSession, url: str, lead: dict[str, str], mgr: dict[str, str],
                     body: dict[str, Any]) -> int:  # fmt: skip
    status, article = await _call(http, "POST", url + BASE, lead, body)
    assert status == 201 and article["current"]["state"] == "draft", article
    one = f"{url}{BASE}/{article['id']}"
    assert (await _call(http, "POST", one + "/submit", lead))[1]["current"]["state"] == "in_review"
    assert (await _call(http, "POST", one + "/approve", mgr))[1]["current"]["reviewer"] == "mgr-1"
    status, done = await _call(http, "POST", one + "/publish", mgr)
    assert status == 200 and done["published"] == done["current"]["number"], done
    return int(article["id"])


async def _search(http: aiohttp.ClientSession, url: str, who: dict[str, str], query: str) -> list[dict[str, Any]]:
    status, found = await _call(http, "GET", f"{url}{BASE}?{query}", who)
    assert status == 200, found
    return list(found["articles"])


async def _scenario(server: CrmServer) -> None:
    lead, mgr, agent = server.bearer("team_leader", "lead-1"), server.bearer("manager", "mgr-1"), server.bearer("agent")
    url = server.url
    async with aiohttp.ClientSession() as http:
        # bad input and the wrong role: a clear id naming the field, nothing created
        for bad, field in (({"title": "t", "body": "b"}, "lang"), ({"lang": "fr", "title": "t", "body": "b"}, "lang"),
                           ({"lang": "en", "body": "b"}, "title"),
                           ({"lang": "en", "title": "t", "body": "b", "tags": {"colour": "red"}}, "tags.colour"),
                           ({"lang": "en", "title": "t", "body": "b", "tags": {"skill": "a b"}}, "tags.skill"),
                           ({"lang": "en", "title": "t", "body": "b", "questions": "why"}, "questions"),
                           ({"lang": "en", "title": "t", "body": "b", "pin": "1234"}, "pin")):  # fmt: skip
            status, error = await _call(http, "POST", url + BASE, lead, bad)
            assert (status, error["error_id"], error["details"]["field"]) == (400, "knowledge.bad_article", field)
        status, error = await _call(http, "POST", url + BASE, agent, {"lang": "en", "title": "t", "body": "b"})
        assert (status, error["error_id"]) == (403, "role.forbidden")
        assert (await _call(http, "GET", f"{url}{BASE}/1", agent))[1]["error_id"] == "knowledge.unknown"

        fare = {"lang": "en", "kind": "qa", "tags": {"skill": "billing", "product": "rides"},
                "questions": ["How do I get my money back?"]}  # fmt: skip
        quick = await _published(http, url, lead, mgr, fare | {"title": "Refund a fare",
                                                               "body": "How to refund a fare quickly."})  # fmt: skip
        rapid = await _published(http, url, lead, mgr, fare | {"title": "Refund a fare",
                                                               "body": "How to refund a fare rapidly."})  # fmt: skip
        lost = await _published(http, url, lead, mgr, {"lang": "en", "title": "Lost item in the car",
                                                        "body": "Ask the driver through the trip page.",
                                                        "tags": {"skill": "lost_found"}})  # fmt: skip
        zh = await _published(http, url, lead, mgr, {"lang": "zh", "title": "如何申请退款",
                                                      "body": "乘客可以在行程页面申请退款，三个工作日内到账。",
                                                      "questions": ["钱什么时候退回来？"],
                                                      "tags": {"skill": "billing"}})  # fmt: skip

        # English: partial words, highlighted; a tag and a language filter
        hits = await _search(http, url, agent, "q=refu&lang=en")
        assert {h["id"] for h in hits} == {quick, rapid}
        assert hits[0]["title"] == "<mark>Refu</mark>nd a fare" and "<mark>refu</mark>nd" in hits[0]["snippet"]
        assert [h["id"] for h in await _search(http, url, agent, "q=trip")] == [lost]
        assert await _search(http, url, agent, "q=trip&tag=skill:billing") == []
        assert {h["id"] for h in await _search(http, url, agent, "q=money+back")} == {quick, rapid}
        # Chinese: a phrase (trigram), and a two-character word
        for query in ("q=申请退款", "q=退款&lang=zh", "q=退款&tag=skill:billing&lang=zh"):
            found = await _search(http, url, agent, query)
            assert [h["id"] for h in found] == [zh], query
            assert "<mark>" in found[0]["title"] and "<mark>" in found[0]["snippet"], found
        assert await _search(http, url, agent, "q=退款&lang=en") == []

        # views and feedback move an equally relevant article up
        for _ in range(3):
            assert (await _call(http, "GET", f"{url}{BASE}/{rapid}", agent))[0] == 200
            status, counts = await _call(http, "POST", f"{url}{BASE}/{rapid}/feedback", agent, {"helpful": True})
            assert status == 200
            await _call(http, "POST", f"{url}{BASE}/{quick}/feedback", agent, {"helpful": False, "comment": "old"})
        assert counts == {"id": rapid, "helpful": 3, "unhelpful": 0}
        hits = await _search(http, url, agent, "q=refund")
        assert [h["id"] for h in hits] == [rapid, quick], hits
        assert hits[0]["views"] == 3 and hits[1]["unhelpful"] == 3
        assert hits[0]["score"] > hits[1]["score"]

        # the next version is drafted while the published one is served and searched
        one = f"{url}{BASE}/{lost}"
        status, draft = await _call(http, "PUT", one, lead, {"body": "Ask the zebra driver.", "version": 999})
        assert (status, draft["error_id"]) == (409, "knowledge.version_conflict")
        article = (await _call(http, "GET", one + "?latest=1", lead))[1]
        status, draft = await _call(http, "PUT", one, lead, {"body": "Ask the zebra driver.",
                                                            "version": article["version"]})  # fmt: skip
        assert status == 200 and draft["current"]["number"] == 2 and draft["current"]["state"] == "draft", draft
        assert draft["current"]["title"] == "Lost item in the car"  # kept from the published version
        assert (await _call(http, "GET", one, agent))[1]["current"]["body"] == "Ask the driver through the trip page."
        assert await _search(http, url, agent, "q=zebra") == []
        assert (await _call(http, "GET", one + "?latest=1", agent))[1]["error_id"] == "role.forbidden"
        assert (await _call(http, "POST", one + "/submit", lead))[0] == 200
        # in review: not edited; its author (a manager now) may not approve; nothing changes
        assert (await _call(http, "PUT", one, lead, {"body": "x"}))[1]["error_id"] == "knowledge.transition_not_allowed"
        status, error = await _call(http, "POST", one + "/approve", lead)
        assert (status, error["error_id"]) == (403, "role.forbidden")
        status, error = await _call(http, "POST", one + "/publish", mgr)
        assert (status, error["error_id"]) == (409, "knowledge.transition_not_allowed")
        assert (await _call(http, "POST", one + "/bless", mgr))[1]["error_id"] == "knowledge.bad_step"
        assert (await _call(http, "GET", one + "?latest=1", lead))[1]["current"]["state"] == "in_review"
        assert (await _call(http, "POST", one + "/reject", mgr))[1]["current"]["state"] == "draft"
        assert (await _call(http, "POST", one + "/submit", lead))[0] == 200
        assert (await _call(http, "POST", one + "/approve", mgr))[0] == 200
        assert (await _call(http, "POST", one + "/publish", mgr))[1]["published"] == 2
        assert [h["id"] for h in await _search(http, url, agent, "q=zebra")] == [lost]
        assert await _search(http, url, agent, "q=through+the+trip") == []

        # a manager's own draft needs another reviewer
        own = (await _call(http, "POST", url + BASE, mgr, {"lang": "en", "title": "Own", "body": "Mine."}))[1]["id"]
        assert (await _call(http, "POST", f"{url}{BASE}/{own}/submit", mgr))[0] == 200
        status, error = await _call(http, "POST", f"{url}{BASE}/{own}/approve", mgr)
        assert (status, error["error_id"]) == (403, "knowledge.self_approval")
        assert (await _call(http, "GET", f"{url}{BASE}/{own}?latest=1", mgr))[1]["current"]["state"] == "in_review"
        assert (await _call(http, "GET", f"{url}{BASE}/{own}", agent))[1]["error_id"] == "knowledge.not_published"

        # every edit and step audited: who, when
        history = (await _call(http, "GET", one + "/history", lead))[1]["history"]
        assert [(h["action"], h["actor"], h["number"]) for h in history] == [
            ("create", "lead-1", 1), ("submit", "lead-1", 1), ("approve", "mgr-1", 1), ("publish", "mgr-1", 1),
            ("edit", "lead-1", 2), ("submit", "lead-1", 2), ("reject", "mgr-1", 2), ("submit", "lead-1", 2),
            ("approve", "mgr-1", 2), ("publish", "mgr-1", 2)]  # fmt: skip
        assert all(h["at"] > 0 for h in history)

        # bad searches and feedback: a clear id, nothing counted
        for query, field in (("q=", "q"), ("q=x&lang=fr", "lang"), ("q=x&tag=colour:red", "tag"),
                             ("q=x&limit=500", "limit")):  # fmt: skip
            status, error = await _call(http, "GET", f"{url}{BASE}?{query}", agent)
            assert (status, error["error_id"], error["details"]["field"]) == (400, "knowledge.bad_query", field)
        status, error = await _call(http, "POST", f"{url}{BASE}/{rapid}/feedback", agent, {"helpful": "yes"})
        assert (status, error["details"]["field"]) == (400, "helpful")
        assert (await _search(http, url, agent, "q=refund"))[0]["helpful"] == 3


async def test_the_knowledge_base_on_sqlite(business: CrmServer) -> None:
    await _scenario(business)


@pytest.mark.postgres
async def test_the_knowledge_base_on_postgresql(business_pg: CrmServer) -> None:
    await _scenario(business_pg)
