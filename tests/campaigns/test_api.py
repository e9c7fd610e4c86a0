"""A preview campaign through central's API on a real database (SQLite; one PostgreSQL run):
list import with its report, consent and do-not-call respected, two agents never offered the
same contact, skip / dial / outcome with retries, the lifecycle, and bad input changing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from central.campaigns.api import CampaignsApi
from central.crm.api import CrmApi
from cluster.tokens import TokenSigner
from tests.crm.conftest import BusinessPart, CrmServer, serve
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401

LIST = """phone,customer_number,name,tz,priority,amount_due
+49 170 1000001,C1,Anna Weber,,5,120.50
+49 170 1000002,C2,Withdrawn Consent,,4,80
+49 170 1000003,,Barred Number,,3,10
+49 170 1000004,,Ben Kraus,,2,99
not-a-phone,,Bad Row,,0,1
+49 170 1000005,,Late Zone,America/Los_Angeles,1,5
"""
ALWAYS = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _parts(crm: CrmApi, signer: TokenSigner) -> list[BusinessPart]:
    return [CampaignsApi(crm, signer, max_body_bytes=65536)]


@pytest.fixture
async def business(tmp_path: Path) -> AsyncIterator[CrmServer]:
    async for server in serve(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}", _parts):
        yield server


@pytest.fixture
async def business_pg(request: pytest.FixtureRequest) -> AsyncIterator[CrmServer]:
    server_url = str(request.getfixturevalue("postgres_url"))
    url = await create_database(server_url)
    try:
        async for server in serve(url, _parts):
            yield server
    finally:
        await drop_database(server_url, url)


async def _call(http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: Any = None,
                data: str | None = None) -> tuple[int, Any]:  # fmt: skip
    async with http.request(method, url, json=body if data is None else None, data=data, headers=headers) as r:
        return r.status, (await r.json() if r.status != 204 else None)


async def _scenario(server: CrmServer) -> None:
    lead, a1, a2 = server.bearer("team_leader", "lead-1"), server.bearer("agent", "a1"), server.bearer("agent", "a2")
    url = server.url
    async with aiohttp.ClientSession() as http:
        for number, may_call in (("C1", True), ("C2", False)):
            body = {"customer_number": number, "name": number, "phones": ["+49170999000" + number[1]],
                    "may_call": may_call}  # fmt: skip
            assert (await _call(http, "POST", url + "/v1/customers", lead, body))[0] == 201
        # bad input: a clear id naming the field, nothing created
        for bad, field in (({"name": "x", "mode": "predictive"}, "mode"), ({"name": "x", "tz": "Mars/Base"}, "tz"),
                           ({"name": "x", "hours": {"mon": "9-5"}}, "hours.mon"),
                           ({"name": "x", "retry": {"max_attempts": 99}}, "retry.max_attempts")):  # fmt: skip
            status, error = await _call(http, "POST", url + "/v1/campaigns", lead, bad)
            assert status == 400 and error["details"]["field"] == field, error
        assert (await _call(http, "POST", url + "/v1/campaigns", a1, {"name": "x"}))[1]["error_id"] == "role.forbidden"
        assert (await _call(http, "GET", url + "/v1/campaigns", lead))[1]["campaigns"] == []

        body = {"name": "Arrears December", "kind": "reminder", "tz": "Europe/Berlin", "hours": ALWAYS,
                "retry": {"max_attempts": 2, "retry_after_s": {"no_answer": 3600}}, "agents": ["a1", "a2"]}  # fmt: skip
        status, campaign = await _call(http, "POST", url + "/v1/campaigns", lead, body)
        assert status == 201 and campaign["state"] == "draft", campaign
        base = f"{url}/v1/campaigns/{campaign['id']}"
        assert (await _call(http, "POST", base + "/start", lead))[1]["error_id"] == "campaign.empty_list"
        status, report = await _call(http, "POST", base + "/contacts?dry_run=1", lead, data=LIST)
        assert (status, report["valid"], report["invalid"], report["added"]) == (200, 5, 1, 0), report
        assert report["errors"][0]["row"] == 6 and report["errors"][0]["error_id"] == "crm.invalid_phone"
        assert (await _call(http, "POST", base + "/contacts", lead, data="phone,pin\n+4917000,1234\n"))[1][
            "error_id"] == "campaign.sensitive_column"  # fmt: skip
        assert (await _call(http, "POST", base + "/contacts", lead, data=LIST))[1]["added"] == 5
        assert (await _call(http, "POST", base + "/contacts", lead, data=LIST))[1]["already_listed"] == 5
        assert (await _call(http, "POST", url + "/v1/do-not-call", lead,
                            {"phone": "+49 170 1000003", "reason": "asked in branch"}))[0] == 201  # fmt: skip
        assert (await _call(http, "POST", base + "/preview", a1))[1]["error_id"] == "campaign.not_running"
        assert (await _call(http, "POST", base + "/start", lead))[1]["state"] == "running"
        assert (await _call(http, "POST", base + "/start", lead))[1]["error_id"] == "campaign.transition_not_allowed"

        # two agents at once: two different contacts, by priority; consent and do-not-call skipped
        (s1, first), (s2, second) = await asyncio.gather(_call(http, "POST", base + "/preview", a1),
                                                         _call(http, "POST", base + "/preview", a2))  # fmt: skip
        assert (s1, s2) == (200, 200) and {first["name"], second["name"]} == {"Anna Weber", "Ben Kraus"}
        mine = first if first["agent"] == "a1" else second
        assert (await _call(http, "POST", base + "/preview", a1))[1]["id"] == mine["id"]  # the same until worked
        theirs = second if mine is first else first
        contact = f"{base}/contacts/{theirs['id']}"
        assert (await _call(http, "POST", contact, a1, {"event": "dial"}))[1]["error_id"] == "campaign.not_your_contact"
        progress = (await _call(http, "GET", base, lead))[1]["progress"]["states"]
        assert progress.get("blocked") == 2, progress  # withdrawn consent, barred number: never offered
        # the agent works its contact: dial, no answer -> retried later; the other one: a promise to pay
        me = f"{base}/contacts/{mine['id']}"
        other = a2 if mine is first else a1
        assert (await _call(http, "POST", me, a1, {"event": "dial"}))[1]["state"] == "dialling"
        assert (await _call(http, "POST", me, a1, {"event": "outcome", "outcome": "reached"}))[1]["error_id"] == (
            "campaign.bad_outcome")  # not answered yet  # fmt: skip
        retried = (await _call(http, "POST", me, a1, {"event": "outcome", "outcome": "no_answer"}))[1]
        assert (retried["state"], retried["attempts"], retried["agent"]) == ("pending", 1, None)
        for step in ({"event": "dial"}, {"event": "answered"}):
            assert (await _call(http, "POST", contact, other, step))[0] == 200
        bad = {"event": "outcome", "outcome": "promise_to_pay", "details": {"amount": "lots", "date": "2026-12-20"}}
        assert (await _call(http, "POST", contact, other, bad))[1]["details"]["field"] == "amount"
        good = {"event": "outcome", "outcome": "promise_to_pay", "details": {"amount": "80.00", "date": "2099-01-15"}}
        done = (await _call(http, "POST", contact, other, good))[1]
        assert (done["state"], done["details"]) == ("done", {"amount": "80.00", "date": "2099-01-15"})
        steps = (await _call(http, "GET", contact, lead))[1]["steps"]
        assert [s["event"] for s in steps] == ["offer", "dial", "answered", "outcome"]
        # the retried contact is not due for an hour: the next preview is the Los Angeles one
        nxt = (await _call(http, "POST", base + "/preview", a1))[1]
        assert nxt["name"] == "Late Zone"
        nxt_url = f"{base}/contacts/{nxt['id']}"
        assert (await _call(http, "POST", nxt_url, a1, {"event": "skip"}))[1]["details"]["field"] == "reason"
        blocked = (await _call(http, "POST", nxt_url, a1, {"event": "block", "reason": "asked not to be called"}))[1]
        assert blocked["state"] == "blocked"
        assert (await _call(http, "POST", base + "/preview", a2))[0] == 204  # nothing due now
        view = (await _call(http, "GET", base, lead))[1]
        assert view["state"] == "running" and view["progress"]["outcomes"] == {"no_answer": 1, "promise_to_pay": 1}
        assert (await _call(http, "POST", base + "/pause", lead))[1]["state"] == "paused"
        assert (await _call(http, "POST", base + "/preview", a1))[1]["error_id"] == "campaign.not_running"
        assert (await _call(http, "POST", base + "/finish", lead))[1]["state"] == "finished"


async def test_a_preview_campaign_end_to_end(business: CrmServer) -> None:
    await _scenario(business)


@pytest.mark.postgres
async def test_a_preview_campaign_on_postgresql(business_pg: CrmServer) -> None:
    await _scenario(business_pg)
