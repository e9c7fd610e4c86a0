"""IVR transfers through real processes: to one of our own numbers (its flow goes on in the
same call), to an outside number (no trunk: an agent takes the call, told why), and to
another site (central moves the call there, same id and arrival, like a failover)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from site_node.ivr import load_demo_registry
from tests.e2e.helpers import cdr, centrals, final_cdr, running_cluster, site_url
from tests.helpers.audio import write_tone_wav
from webrtc_client.audio import hears
from webrtc_client.client import CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
LOANS = "95590"
RECORDED_HZ = 1000.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=3, centrals=1) as c:
        yield c


def loans_with_transfers() -> dict[str, Any]:
    """The demo loans flow with a transfer of every kind on keys 5 to 8, welcoming callers with
    a recorded prompt (a 1 kHz tone in the sites' prompts directory)."""
    document = copy.deepcopy(dict(load_demo_registry().latest("loans").source))
    welcome = next(n for n in document["nodes"] if n["id"] == "welcome")
    welcome["audio"] = {"en": "welcome.wav", "zh": "welcome.wav"}
    menu = next(n for n in document["nodes"] if n["id"] == "menu")
    targets = {"5": "number:95589", "6": "number:+861088880000", "7": "site:branch-south", "8": "site:branch-east"}
    for digit, target in targets.items():
        node = f"transfer_{digit}"
        menu["options"].append({"digit": digit, "function": {"en": f"transfer {digit}", "zh": "转接"}, "next": node})
        document["nodes"].append({"id": node, "type": "transfer", "target": target})
    return document


@pytest.fixture(scope="module")
def published(cluster: LocalCluster) -> None:
    write_tone_wav(cluster.base_dir / "data" / "prompts" / "welcome.wav", RECORDED_HZ, seconds=3.0)
    asyncio.run(publish(cluster))


async def publish(cluster: LocalCluster) -> None:
    async with aiohttp.ClientSession() as http:
        north = site_url(cluster, "branch-north")
        async with http.post(north + "/v1/agents/login", json={"agent_id": "north-01", "password": "demo"}) as r:
            token = (await r.json())["token"]  # north-01 is the branch manager
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(north + "/v1/flows", json=loans_with_transfers(), headers=headers) as r:
            assert r.status == 201, await r.text()
        async with asyncio.timeout(15):
            for site in ("branch-north", "branch-south", "branch-east"):
                while True:  # another process: ask it again (nothing pushes this to the test)
                    async with http.get(site_url(cluster, site) + "/v1/flows") as r:
                        if (await r.json())["flows"]["loans"][-1] == 2:
                            break
                    await asyncio.sleep(0.1)


async def lookup(cluster: LocalCluster, call_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=cluster.operator_headers()) as http, \
            http.get(f"{centrals(cluster)[0]}/v1/calls/{call_id}") as r:
        return await r.json()  # type: ignore[no-any-return]


async def caller_pressing(cluster: LocalCluster, number: str, digit: str) -> CustomerClient:
    customer = CustomerClient(centrals(cluster), caller=number, dialled=LOANS, tone_hz=440.0)
    await customer.call()
    assert customer.sig is not None
    await customer.press(digit, how="datachannel")  # typed ahead: the menu takes it after the welcome
    return customer


async def test_a_transfer_to_one_of_our_numbers_goes_on_in_its_flow(cluster: LocalCluster, published: None) -> None:
    customer = await caller_pressing(cluster, "+8613400000001", "5")
    assert customer.sig is not None
    await customer.press("0", how="datachannel")  # the card line's menu: an agent
    queued = await customer.sig.event("queued", timeout_s=60)
    assert queued["data"]["queue"] == "credit_card"
    await customer.hangup()
    row = await final_cdr(cluster, customer.site, customer.call_id)
    assert row is not None and row["flow_id"] == "credit_cards" and row["end_reason"] == "abandoned_in_queue"
    await customer.close()


async def test_a_transfer_to_an_outside_number_goes_to_an_agent_with_the_reason(
    cluster: LocalCluster, published: None
) -> None:
    customer = CustomerClient(centrals(cluster), caller="+8613400000002", dialled=LOANS, tone_hz=440.0)
    await customer.call()
    assert customer.sig is not None and customer.phone is not None
    assert await hears(customer.phone.receiver, RECORDED_HZ), "the recorded welcome was not heard"
    listening = await customer.sig.event("collecting", timeout_s=20)  # the menu takes keys now
    assert listening["data"] == {"listening": True}
    await customer.press("6", how="datachannel")
    fallback = await customer.sig.event("transfer_fallback", timeout_s=60)
    assert fallback["data"]["target"] == "+861088880000" and "SIP trunk" in fallback["data"]["reason"]
    queued = await customer.sig.event("queued", timeout_s=10)
    assert queued["data"]["queue"] == "retail"
    await customer.hangup()
    row = await final_cdr(cluster, customer.site, customer.call_id)
    assert row is not None and row["end_reason"] == "abandoned_in_queue"
    await customer.close()


async def test_a_transfer_to_another_site_moves_the_call_there_through_central(
    cluster: LocalCluster, published: None
) -> None:
    customer = CustomerClient(centrals(cluster), caller="+8613400000003", dialled=LOANS, tone_hz=440.0)
    await customer.call()
    first_site, arrival = customer.site, (await lookup(cluster, customer.call_id))["original_arrival_at"]
    target, digit = ("branch-east", "8") if first_site == "branch-south" else ("branch-south", "7")
    await customer.press(digit, how="datachannel")
    async with asyncio.timeout(30):
        await customer.reattached.wait()
    assert customer.site == target
    assert customer.sig is not None
    await customer.press("2", how="datachannel")  # the loans flow again, at the new site: personal loans
    queued = await customer.sig.event("queued", timeout_s=60)
    assert queued["data"]["queue"] == "loans"
    record = await lookup(cluster, customer.call_id)
    assert record["site"] == target and record["failovers"] == 0
    assert record["original_arrival_at"] == arrival
    await customer.hangup()
    left = cdr(cluster, first_site, customer.call_id)
    assert left is not None and left["end_reason"] == "transferred_out" and left["transfers"] == 1
    row = await final_cdr(cluster, target, customer.call_id)
    assert row is not None and row["end_reason"] == "abandoned_in_queue"
    await customer.close()
