"""Finding 5: the caller's number is trusted. Reproduced against a real cluster and refused: a
web caller claims a VIP customer's number on a line whose flow (published for the test) would
give a VIP a higher priority. The call is identified for the agent but marked unverified, keeps
normal priority, and its routing record says the number was asserted."""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from site_node.ivr import load_demo_registry
from tests.e2e.helpers import agent_ready, centrals, running_cluster, site_url, wait_published
from webrtc_client.client import CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SITE = "branch-north"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1) as c:
        yield c


def _vip_number(cluster: LocalCluster) -> tuple[str, str]:
    """A VIP customer's own phone number (no one else's) and their name."""
    with sqlite3.connect(cluster.base_dir / "data" / f"{SITE}.db") as db:
        row = db.execute(
            "select p.number, c.name from customer_phones p join customers c on c.id = p.customer_id "
            "where c.segment = 'vip' and (select count(*) from customer_phones q where q.number = p.number) = 1 "
            "order by c.id limit 1"
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def _cards_flow_favouring_vips() -> dict[str, Any]:
    """The card line, with a VIP found by the look-up served at priority 10."""
    document = copy.deepcopy(dict(load_demo_registry().latest("credit_cards").source))
    nodes = document["nodes"]
    next(n for n in nodes if n["id"] == "identify")["next"] = "vip_check"
    nodes += [
        {"id": "vip_check", "type": "condition", "branches": [{"when": {"segment": "vip"}, "next": "vip_cards"}],
         "default": "menu"},
        {"id": "vip_cards", "type": "queue", "queue": "credit_card", "skill": "credit_card", "priority": 10},
    ]
    return document


async def _publish(cluster: LocalCluster, document: dict[str, Any]) -> None:
    url = site_url(cluster, SITE)
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/v1/agents/login", json={"agent_id": "north-01", "password": "demo"}) as r:
            token = (await r.json())["token"]  # north-01 is the branch manager
        async with http.post(url + "/v1/flows", json=document, headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 201, await r.text()


async def test_a_web_caller_claiming_a_vip_number_is_unverified_and_gets_no_priority(cluster: LocalCluster) -> None:
    await _publish(cluster, _cards_flow_favouring_vips())
    number, name = _vip_number(cluster)
    agent = await agent_ready(cluster, SITE, "north-01", 660.0)
    await wait_published(cluster, SITE, "credit_card", ready=1)
    customer = CustomerClient(centrals(cluster), caller=number, dialled="95589", media=False)
    try:
        await customer.call()
        assert customer.route["number_source"] == "asserted"
        await customer.press("0")  # the menu (an identified VIP would have skipped it)
        ring = await agent.wait_ringing(40)
        pop = ring["screen_pop"]
        assert pop["caller_number"] == number and pop["customer"]["name"] == name
        assert (pop["identity"], pop["number_source"]) == ("unverified", "asserted")
        assert pop["priority"] == 0 and pop["customer"]["segment"] == "vip"  # the agent may know; no priority
    finally:
        await customer.hangup()
        await customer.close()
        await asyncio.sleep(0.2)
        await agent.close()
