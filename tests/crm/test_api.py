"""The customers API against a real server and a real database (SQLite; one PostgreSQL run)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.crm.conftest import CrmServer

ANNA = {"customer_number": "C100", "name": "Jürgen Müller", "phones": ["+49 170 1111111"], "segment": "vip",
        "emails": ["jm@example.com"], "may_sms": False}  # fmt: skip


async def _call(http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str],
                body: Any = None) -> tuple[int, Any]:  # fmt: skip
    async with http.request(method, url, json=body, headers=headers) as r:
        return r.status, await r.json()


async def _scenario(crm: CrmServer) -> None:
    lead, agent = crm.bearer("team_leader"), crm.bearer("agent", "north-07")
    base = crm.url + "/v1/customers"
    async with aiohttp.ClientSession() as http:
        status, created = await _call(http, "POST", base, lead, ANNA)
        assert status == 201, created
        assert created["phones"] == ["+491701111111"] and created["may_sms"] is False
        assert "pin_hash" not in created and created["has_pin"] is False
        await _call(
            http, "POST", base, lead, {"customer_number": "C200", "name": "王小明", "phones": ["+8613800000000"]}
        )
        # bad input: a clear id, and nothing changed
        assert (await _call(http, "POST", base, lead, ANNA))[1]["error_id"] == "crm.duplicate_customer_number"
        bad = await _call(http, "POST", base, lead, {"customer_number": "C300", "name": "X", "phones": ["abc"]})
        assert bad == (400, bad[1]) and bad[1]["error_id"] == "crm.invalid_phone"
        assert (await _call(http, "GET", base + "/C300", lead))[1]["error_id"] == "crm.unknown_customer"
        assert (await _call(http, "POST", base, agent, {"customer_number": "C9", "name": "A"}))[1]["error_id"] == (
            "role.forbidden"
        )
        # search: partial, accent-insensitive (FTS trigram for 3+ characters, LIKE below), Chinese
        for query in ("muller", "MÜLL", "jü", "gen mu"):
            found = (await _call(http, "GET", base + f"?name={query}", agent))[1]["customers"]
            assert [c["customer_number"] for c in found] == ["C100"], query
        assert [c["name"] for c in (await _call(http, "GET", base + "?name=小明", agent))[1]["customers"]] == ["王小明"]
        assert len((await _call(http, "GET", base + "?segment=vip", agent))[1]["customers"]) == 1
        assert (await _call(http, "GET", base + "?phone=%2B8613800000000", agent))[1]["customers"][0][
            "name"
        ] == "王小明"
        # accounts: masked plus keyed hash; found by last four and by the full number
        status, account = await _call(
            http, "POST", base + "/C100/accounts", lead, {"account_number": "5200 1234 5678 9010"}
        )
        assert status == 201 and account["masked_number"] == "**** **** 9010"
        assert (await _call(http, "GET", base + "?last_four=9010", agent))[1]["customers"][0][
            "customer_number"
        ] == "C100"
        found = (await _call(http, "GET", base + "/lookup?account=5200123456789010", agent))[1]["customers"]
        assert [c["customer_number"] for c in found] == ["C100"]
        found = (await _call(http, "GET", base + "/lookup?phone=%2B49%20170%201111111", agent))[1]["customers"]
        assert [c["customer_number"] for c in found] == ["C100"]
        # edit keeps the rest
        status, edited = await _call(http, "PATCH", base + "/C100", lead, {"segment": "business"})
        assert status == 200 and edited["segment"] == "business" and edited["phones"] == ["+491701111111"]
        # PIN: set by a team leader, changed with the old one, never shown
        assert (await _call(http, "PUT", base + "/C100/pin", agent, {"pin": "1234"}))[1]["error_id"] == "role.forbidden"
        assert (await _call(http, "PUT", base + "/C100/pin", lead, {"pin": "12"}))[1]["error_id"] == "storage.bad_pin"
        assert (await _call(http, "PUT", base + "/C100/pin", lead, {"pin": "4321"}))[0] == 200
        wrong = await _call(http, "POST", base + "/C100/pin/change", agent, {"old_pin": "0000", "new_pin": "5555"})
        assert wrong[1]["error_id"] == "crm.wrong_pin"
        assert (await _call(http, "POST", base + "/C100/pin/change", agent, {"old_pin": "4321", "new_pin": "5555"}))[
            0
        ] == 200
        assert (await _call(http, "POST", base + "/C100/pin/verify", agent, {"pin": "5555"}))[1] == {"ok": True}
        # contact history: newest first, paged, idempotent by (kind, ref)
        for i in range(5):
            entry = {"kind": "call", "at": 1000.0 + i, "site": "branch-north", "ref": f"call-{i}",
                     "details": {"queue": "retail", "agent": "north-07", "outcome": "answered"}}  # fmt: skip
            assert (await _call(http, "POST", base + "/C100/history", agent, entry))[0] == 201
        await _call(http, "POST", base + "/C100/history", agent, entry)  # a retry adds nothing
        await _call(http, "POST", base + "/C200/history", agent, {"kind": "call", "at": 999.0, "ref": "call-x"})
        status, page = await _call(http, "GET", base + "/C100/history?limit=3", agent)
        assert [e["ref"] for e in page["entries"]] == ["call-4", "call-3", "call-2"] and page["next"]
        _, rest = await _call(http, "GET", base + f"/C100/history?limit=3&cursor={page['next']}", agent)
        assert [e["ref"] for e in rest["entries"]] == ["call-1", "call-0"] and rest["next"] is None
        bad = await _call(http, "POST", base + "/C100/history", agent, {"kind": "call", "details": {"pin": "1234"}})
        assert bad[1]["error_id"] == "storage.sensitive_data"
        # merge: the duplicate's history and phones move to the survivor; the duplicate is inactive
        status, merged = await _call(http, "POST", base + "/C100/merge", lead, {"duplicate": "C200"})
        assert status == 200 and "+8613800000000" in merged["phones"]
        _, page = await _call(http, "GET", base + "/C100/history?limit=20", agent)
        assert {"call-x", None} <= {e["ref"] for e in page["entries"]}
        _, dup = await _call(http, "GET", base + "/C200", agent)
        assert dup["active"] is False and dup["merged_into"] == "C100"
        assert (await _call(http, "GET", base + "?name=小明", agent))[1]["customers"] == []
        # deactivate: gone from call-time look-ups, kept for the record
        await _call(http, "POST", base + "/C100/deactivate", lead)
        assert (await _call(http, "GET", base + "/lookup?phone=%2B491701111111", agent))[1]["customers"] == []
    await crm.api.audit.flush()  # type: ignore[union-attr]  # written in batches
    audited = await crm.api.service.store.audit_entries("C100")  # type: ignore[union-attr]
    actions = [e["action"] for e in audited]
    assert "customer_view" in actions and "pin_change" in actions and "history_view" in actions
    assert all("5555" not in str(e) and "4321" not in str(e) for e in audited)


async def test_customers_api_on_sqlite(crm: CrmServer) -> None:
    await _scenario(crm)


@pytest.mark.postgres
async def test_customers_api_on_postgresql(crm_pg: CrmServer) -> None:
    await _scenario(crm_pg)
