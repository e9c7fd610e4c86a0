"""``POST /v1/resources/resolve`` and ``GET /v1/resources`` at a real central (real etcd, real
back-office simulator process): role-checked, bad requests refused whole, flows only from sites."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from central.config import CentralSettings
from central.node import CentralNode
from cluster.config import load_settings
from cluster.keys import Keyspace
from cluster.tokens import TokenSigner

SECRET = secrets.token_urlsafe(48)


@pytest.fixture
async def central(tmp_path: Path, etcd_endpoints: list[str], keyspace: Keyspace,
                  backoffice_url: str) -> AsyncIterator[str]:  # fmt: skip
    settings = load_settings(environ={}, model=CentralSettings, overrides={
        "etcd": {"endpoints": etcd_endpoints, "prefix": keyspace.prefix, "lease_ttl_s": 2},
        "central": {"name": "central-res", "http": {"port": 0}},
        "tokens": {"secret": SECRET},
        "business": {"data_dir": str(tmp_path)},
        "resources": {"backoffice_url": backoffice_url},
    })  # fmt: skip
    node = CentralNode(settings)
    await node.start()
    try:
        yield node.url
    finally:
        await node.stop()


def bearer(role: str, who: str = "north-05") -> dict[str, str]:
    return {"Authorization": "Bearer " + TokenSigner(SECRET, ttl_s=600).issue("agent", who, role=role)}


async def post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(url + "/v1/resources/resolve", json=body,
                                                          headers=headers) as r:  # fmt: skip
        return r.status, await r.json()


async def test_resolve_at_a_real_central(central: str, backoffice_url: str) -> None:
    await _refused_whole(central)  # first: every bad request is refused before anything is called
    async with aiohttp.ClientSession() as http, http.get(f"{backoffice_url}/gas/customers/x/bill") as r:
        assert r.status == 404  # the simulator runs
    from tests.resources.test_executor import gas_and_card

    number = gas_and_card()
    body = {"fields": ["customer_name", "available_credit", "is_in_arrears", "last_transactions"],
            "inputs": {"customer_number": number}}  # fmt: skip
    status, answer = await post(central, body, bearer("agent"))
    assert status == 200, answer
    assert answer["errors"] == {}
    assert set(answer["values"]) == set(body["fields"])
    assert [s["name"] for s in answer["plan"][0]] == ["bank_customer", "gas_bill"]
    async with aiohttp.ClientSession() as http:
        async with http.get(central + "/v1/resources", headers=bearer("team_leader")) as r:
            usage = await r.json()
        assert usage["catalogs"] == {"bank": 1, "gas": 1}
        assert usage["resources"]["gas_bill"]["calls"] >= 1
        async with http.get(central + "/metrics") as r:
            metrics = await r.text()
        assert 'cc_resource_calls_total{outcome="ok",resource="bank_customer"}' in metrics
        async with http.get(central + "/openapi.json") as r:
            doc = await r.json()
        assert "/v1/resources/resolve" in doc["paths"]
    # a back office that errors: the field says so, the request still answers 200
    body = {"fields": ["customer_name"], "inputs": {"customer_number": "00000000"}}
    status, answer = await post(central, body, bearer("agent"))
    assert status == 200 and answer["errors"]["customer_name"]["error_id"] == "resources.backend_refused"
    # a site's own identity resolves for its flow
    body = {"fields": ["leak_ref", "crew_eta_min"], "inputs": {"customer_number": number,
            "leak_address": "Hauptstr. 1"}, "flow": "gas_leak"}  # fmt: skip
    status, answer = await post(central, body, bearer("agent", "site:branch-north"))
    assert status == 200 and answer["errors"] == {}
    assert answer["values"]["leak_ref"].startswith("LK-") and answer["values"]["crew_eta_min"] == 30


# who asks, as (role, subject), None: no token; tokens are issued when the test runs, not at import
BAD: list[tuple[Any, tuple[str, str] | None, int, str]] = [
        ({"fields": ["customer_name"], "inputs": {"customer_number": "1"}}, ("compliance", "north-05"), 403,
         "role.forbidden"),
        ({"fields": ["customer_name"], "inputs": {"customer_number": "1"}}, None, 401, "token.malformed"),
        ({"fields": ["nope"], "inputs": {}}, ("agent", "north-05"), 400, "resources.unknown_field"),
        ({"fields": ["customer_name"], "inputs": {}}, ("agent", "north-05"), 400, "resources.missing_input"),
        ({"fields": ["customer_name"], "inputs": {"customer_number": {"x": 1}}}, ("agent", "north-05"), 400,
         "resources.bad_request"),
        ({"fields": "customer_name"}, ("agent", "north-05"), 400, "resources.bad_request"),
        ({"fields": ["customer_name"], "inputs": {"customer_number": "1"}, "deadline_ms": 0}, ("agent", "north-05"),
         400,
         "resources.bad_request"),
        ({"fields": ["customer_name"], "extra": 1}, ("agent", "north-05"), 400, "resources.bad_request"),
        # a person may not name a flow (that is self-service on a caller's behalf, from a site)
        ({"fields": ["statement_ref"], "inputs": {"checking_account_id": "x"}, "flow": "bank_statement"},
         ("admin", "north-05"), 403, "resources.forbidden"),
        # a transfer is self-service only: no role may use it
        ({"fields": ["transfer_ok"], "inputs": {"customer_number": "1", "transfer_source": "a",
          "transfer_target": "b", "transfer_amount": 1}}, ("admin", "north-05"), 403, "resources.forbidden"),
        # a site's own identity names its flow; a flow that is not allowed is refused
        ({"fields": ["leak_ref"], "inputs": {"customer_number": "1", "leak_address": "x"}, "flow": "bank_transfer"},
         ("agent", "site:branch-north"), 403, "resources.forbidden"),
]  # fmt: skip


async def _refused_whole(central: str) -> None:
    for body, who, status, error_id in BAD:
        got_status, answer = await post(central, body, {} if who is None else bearer(*who))
        assert (got_status, answer["error_id"]) == (status, error_id), (body, answer)
    async with aiohttp.ClientSession() as http, http.get(central + "/v1/resources", headers=bearer("admin")) as r:
        usage = await r.json()
    assert all(u["calls"] == 0 and u["cached"] == 0 for u in usage["resources"].values())  # nothing was called
