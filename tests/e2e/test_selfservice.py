"""Self-service through real processes (issue 20): etcd, central (resource engine), a site and
the back-office simulator. A caller keys in digits over the data channel; the read-outs arrive
as the IVR's prompt texts; the outcome lands in the site's call data (dispositions) and CDR."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import centrals, final_cdr, running_cluster
from webrtc_client.client import CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
SITE = "branch-north"
BALANCE, TRANSFER = "95581", "95582"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1, backoffice=True) as c:
        yield c


def customers(cluster: LocalCluster, n: int) -> list[str]:
    with sqlite3.connect(cluster.base_dir / "data" / "business.db") as db:
        rows = db.execute("select customer_number from crm_customers order by id limit ?", (n,)).fetchall()
    return [str(r[0]) for r in rows]


def backoffice(cluster: LocalCluster) -> str:
    return next(p.url for p in cluster.procs if p.role == "backoffice")


def disposition(cluster: LocalCluster, call_id: str) -> dict[str, Any]:
    with sqlite3.connect(cluster.base_dir / "data" / f"{SITE}.db") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("select * from dispositions where call_id = ?", (call_id,)).fetchone()
    assert row is not None
    out = dict(row)
    return {k: json.loads(v) if k in ("collected", "attributes", "actions") else v for k, v in out.items()}


async def prompt_with(customer: CustomerClient, words: str, timeout_s: float = 60.0) -> str:
    """The next prompt text (shown as text too, A4) that contains ``words``."""
    assert customer.sig is not None
    async with asyncio.timeout(timeout_s):
        while True:
            message = await customer.sig.event("prompt", timeout_s=timeout_s)
            text = str(message.get("data", {}).get("text", ""))
            if words in text:
                return text


async def core_summary(cluster: LocalCluster, number: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{backoffice(cluster)}/bank/customers/{number}") as r:
        return await r.json()  # type: ignore[no-any-return]


async def set_faults(cluster: LocalCluster, **faults: float) -> None:
    async with aiohttp.ClientSession() as http, http.put(f"{backoffice(cluster)}/faults", json=faults) as r:
        assert r.status == 200, await r.text()


async def dial(cluster: LocalCluster, dialled: str, number: str) -> CustomerClient:
    customer = CustomerClient(centrals(cluster), caller="+19990000042", dialled=dialled, tone_hz=440.0)
    await customer.call()
    await prompt_with(customer, "customer number")
    await customer.press(number, how="datachannel")
    return customer


def test_balance_is_read_out_and_lands_in_call_data_and_cdr(cluster: LocalCluster) -> None:
    async def scenario() -> None:
        number = customers(cluster, 1)[0]
        balance = (await core_summary(cluster, number))["checking"]["balance"]
        customer = await dial(cluster, BALANCE, number)
        text = await prompt_with(customer, "The balance of your account ending in")
        assert "euros" in text and number not in text
        await customer.press("1", how="datachannel")
        await prompt_with(customer, "Your last transactions:")
        await customer.hangup()  # no need to hear all five out
        row = await final_cdr(cluster, SITE, customer.call_id, timeout_s=60)
        assert row is not None and row["end_reason"] is not None
        data = disposition(cluster, customer.call_id)
        assert data["attributes"]["checking_balance"] == balance
        assert "self-service: balance and last transactions read out" in data["actions"]["done"]
        await customer.close()

    asyncio.run(scenario())


def test_transfer_pin_amount_confirm_then_the_limit_refusal_is_read_out(cluster: LocalCluster) -> None:
    async def scenario() -> None:
        number = customers(cluster, 3)[2]
        before = await core_summary(cluster, number)
        customer = await dial(cluster, TRANSFER, number)
        await prompt_with(customer, "six digit PIN")
        await customer.press("123456", how="datachannel")
        await prompt_with(customer, "amount in whole euros")
        await customer.press("100#", how="datachannel")
        await prompt_with(customer, "You are moving one hundred euros")
        await customer.press("1", how="datachannel")
        await prompt_with(customer, "Done. You can still transfer")
        await customer.hangup()
        after = await core_summary(cluster, number)
        assert after["savings"]["balance"] == round(before["savings"]["balance"] + 100, 2)
        await final_cdr(cluster, SITE, customer.call_id, timeout_s=60)
        data = disposition(cluster, customer.call_id)
        assert data["attributes"]["transfer_ok"] is True and data["collected"]["transfer_amount"] == "100"
        assert "self-service: transferred 100 EUR to savings" in data["actions"]["done"]
        assert "123456" not in json.dumps(data)
        await customer.close()

        again = await dial(cluster, TRANSFER, number)  # over the 5,000 daily limit: refused, reason read out
        await prompt_with(again, "six digit PIN")
        await again.press("123456", how="datachannel")
        await prompt_with(again, "amount in whole euros")
        await again.press("9000#", how="datachannel")
        await prompt_with(again, "You are moving")
        await again.press("1", how="datachannel")
        await prompt_with(again, "over your daily transfer limit")
        await again.close()

    asyncio.run(scenario())


def test_a_failing_back_office_takes_on_error_and_the_call_goes_on_to_an_agent(cluster: LocalCluster) -> None:
    async def scenario() -> None:
        number = customers(cluster, 2)[1]  # not asked before: nothing cached
        await set_faults(cluster, error_rate=1.0)
        try:
            customer = await dial(cluster, BALANCE, number)
            await prompt_with(customer, "not available right now")
            assert customer.sig is not None
            await customer.sig.event("queued", "offered", timeout_s=60)
            await customer.close()
        finally:
            await set_faults(cluster, error_rate=0.0)

    asyncio.run(scenario())
