"""The executor against the real back-office simulator process: values consistent with the demo
customers, timeouts, errors, malformed data and refusals each as a clear error on the fields
concerned (never an exception), retries, the plan's deadline, the cache, and the metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY

from central.resources.client import AiohttpClient
from central.resources.executor import Executor, Resolution
from central.resources.model import DEFINITIONS_DIR, Catalog, build_catalog, document_from, load_catalog
from central.resources.planner import plan
from cluster.clock import ManualClock
from site_node.storage.seed import demo_bank


def gas_and_card() -> str:
    """A demo customer with a gas contract (every third) and a credit card."""
    bank = demo_bank()
    cards = {a.customer_id for a in bank.accounts if a.kind == "credit_card"}
    return next(c["customer_number"] for i, c in enumerate(bank.customers) if i % 3 == 0 and c["id"] in cards)


@pytest.fixture
async def client() -> AsyncIterator[AiohttpClient]:
    http = AiohttpClient()
    await http.start()
    yield http
    await http.stop()


def one(name: str, url: str, outputs: dict[str, Any], **extra: Any) -> Catalog:
    """A catalog of one resource reading a customer (``url`` after ``{backoffice}``)."""
    doc = {"catalog": "x", "version": 1, "derived": [{"name": "doubled", "expr": "balance * 2"}],
           "resources": [{"name": name, "url": "{backoffice}" + url, "inputs": ["customer_number"],
                          "outputs": outputs, **extra}]}  # fmt: skip
    return build_catalog([(document_from(doc), "x.yaml")], {"backoffice": "http://unused"})


async def resolve(catalog: Catalog, url: str, http: AiohttpClient, fields: list[str], number: str | None = None,
                  *, deadline_s: float = 2.0, executor: Executor | None = None, **kw: Any) -> Resolution:  # fmt: skip
    executor = executor or Executor(catalog, http, {"backoffice": url}, **kw)
    return await executor.resolve(plan(catalog, fields, {"customer_number"}, role="agent"),
                                  {"customer_number": number or gas_and_card()}, deadline_s=deadline_s)  # fmt: skip


def ids(result: Resolution) -> dict[str, str]:
    return {name: e["error_id"] for name, e in result.errors.items()}


BALANCE = {"balance": {"path": "checking.balance", "type": "number"}}


async def test_demo_fields_match_the_simulator_and_the_crm_customers(backoffice_url: str,
                                                                     client: AiohttpClient) -> None:  # fmt: skip
    catalog = load_catalog([DEFINITIONS_DIR], {"backoffice": backoffice_url})
    fields = ["customer_name", "total_balance", "last_transactions", "available_credit", "is_in_arrears",
              "next_slot", "checking_last_four"]  # fmt: skip
    before = REGISTRY.get_sample_value("cc_resource_calls_total", {"resource": "gas_bill", "outcome": "ok"}) or 0
    result = await resolve(catalog, backoffice_url, client, fields)
    assert result.errors == {}
    number = gas_and_card()
    async with aiohttp.ClientSession() as http, http.get(f"{backoffice_url}/bank/customers/{number}") as r:
        truth = await r.json()
    async with aiohttp.ClientSession() as http, http.get(f"{backoffice_url}/gas/customers/{number}/bill") as r:
        bill = await r.json()
    crm = next(c for c in demo_bank().customers if c["customer_number"] == number)
    savings = truth.get("savings", {}).get("balance", 0)
    assert result.values["customer_name"] == crm["name"]
    assert result.values["total_balance"] == round(truth["checking"]["balance"] + savings, 2)
    card = truth["credit_card"]
    assert result.values["available_credit"] == pytest.approx(card["limit"] - card["balance"])
    assert result.values["is_in_arrears"] is (bill["arrears"] > 0)
    assert len(result.values["last_transactions"]) == 5
    assert result.values["checking_last_four"] == truth["checking"]["last_four"]
    after = REGISTRY.get_sample_value("cc_resource_calls_total", {"resource": "gas_bill", "outcome": "ok"})
    assert after == before + 1


async def test_a_timeout_fails_its_fields_and_dependents_only(backoffice_url: str, client: AiohttpClient) -> None:
    catalog = one("slow", "/bank/customers/{customer_number}?latency_ms=400", BALANCE, timeout_s=0.1, retries=1)
    executor = Executor(catalog, client, {"backoffice": backoffice_url})
    result = await resolve(catalog, backoffice_url, client, ["balance", "doubled"], executor=executor)
    assert ids(result) == {"balance": "resources.timeout", "doubled": "resources.dependency_failed"}
    assert "no answer within 0.1 s" in result.errors["balance"]["message"]
    assert executor.status()["resources"]["slow"]["calls"] == 2  # the retry
    assert executor.status()["resources"]["slow"]["errors"] == 2


async def test_the_plan_deadline_caps_every_call(backoffice_url: str, client: AiohttpClient) -> None:
    catalog = one("slow", "/bank/customers/{customer_number}?latency_ms=500", BALANCE, timeout_s=5, retries=3)
    result = await resolve(catalog, backoffice_url, client, ["balance"], deadline_s=0.15)
    assert ids(result) == {"balance": "resources.timeout"}


@pytest.mark.parametrize(
    ("query", "outputs", "expected"),
    [
        ("?error_rate=1", BALANCE, {"balance": "resources.backend_error"}),
        ("?malformed=1", BALANCE, {"balance": "resources.malformed"}),
        # one bad output of an answer fails that field alone
        ("", {**BALANCE, "name": {"path": "name", "type": "number"}, "gone": {"path": "no.where"}},
         {"name": "resources.malformed", "gone": "resources.malformed"}),
    ],
)  # fmt: skip
async def test_errors_and_malformed_data_are_errors_per_field(backoffice_url: str, client: AiohttpClient,
                                                              query: str, outputs: dict[str, Any],
                                                              expected: dict[str, str]) -> None:  # fmt: skip
    catalog = one("r", "/bank/customers/{customer_number}" + query, outputs, retries=2)
    result = await resolve(catalog, backoffice_url, client, list(outputs))
    assert ids(result) == expected
    if "balance" not in expected:
        assert isinstance(result.values["balance"], float)


async def test_a_refusal_says_why_and_is_not_retried(backoffice_url: str, client: AiohttpClient) -> None:
    catalog = one("r", "/bank/customers/{customer_number}", BALANCE, retries=3)
    executor = Executor(catalog, client, {"backoffice": backoffice_url})
    result = await resolve(catalog, backoffice_url, client, ["balance"], "no-such/../customer", executor=executor)
    assert ids(result) == {"balance": "resources.backend_refused"}
    assert "404" in result.errors["balance"]["message"]
    assert executor.status()["resources"]["r"]["calls"] == 1


async def test_a_back_office_that_is_down_is_an_error_not_an_exception(client: AiohttpClient) -> None:
    from cluster.etcd_server import free_port

    catalog = one("r", "/bank/customers/{customer_number}", BALANCE)
    result = await resolve(catalog, f"http://127.0.0.1:{free_port()}", client, ["balance", "doubled"])
    assert ids(result) == {"balance": "resources.backend_error", "doubled": "resources.dependency_failed"}


async def test_answers_are_cached_for_their_ttl(backoffice_url: str, client: AiohttpClient) -> None:
    clock = ManualClock()
    catalog = one("r", "/bank/customers/{customer_number}", BALANCE, cache_ttl_s=10)
    executor = Executor(catalog, client, {"backoffice": backoffice_url}, clock=clock)
    for _ in range(3):
        assert (await resolve(catalog, backoffice_url, client, ["balance"], executor=executor)).errors == {}
    assert executor.status()["resources"]["r"] | {"mean_ms": 0} == {"catalog": "x", "version": 1, "calls": 1,
                                                                     "errors": 0, "cached": 2, "error_rate": 0.0,
                                                                     "mean_ms": 0}  # fmt: skip
    clock.advance(11)
    await resolve(catalog, backoffice_url, client, ["balance"], executor=executor)
    assert executor.status()["resources"]["r"]["calls"] == 2


async def test_a_self_service_transfer_and_its_daily_limit(backoffice_url: str, client: AiohttpClient) -> None:
    number = next(c["customer_number"] for c in demo_bank().customers[1:]
                  if sum(a.customer_id == c["id"] and a.kind in ("checking", "savings")
                         for a in demo_bank().accounts) == 2)  # fmt: skip
    catalog = load_catalog([DEFINITIONS_DIR], {"backoffice": backoffice_url})
    executor = Executor(catalog, client, {"backoffice": backoffice_url})
    accounts = await executor.resolve(plan(catalog, ["checking_account_id", "savings_account_id"],
                                           {"customer_number"}, role="agent"), {"customer_number": number},
                                      deadline_s=2)  # fmt: skip
    inputs = {"customer_number": number, "transfer_source": accounts.values["savings_account_id"],
              "transfer_target": accounts.values["checking_account_id"]}  # fmt: skip
    fields = ["transfer_ok", "transfer_left_today"]
    p = plan(catalog, fields, {*inputs, "transfer_amount"}, flow="bank_transfer")
    done = await executor.resolve(p, {**inputs, "transfer_amount": 1.0}, deadline_s=2)
    assert done.errors == {} and done.values["transfer_ok"] is True
    too_much = await executor.resolve(p, {**inputs, "transfer_amount": 6_000.0}, deadline_s=2)
    assert ids(too_much) == {f: "resources.backend_refused" for f in fields}
    assert "daily transfer limit" in too_much.errors["transfer_ok"]["message"]
