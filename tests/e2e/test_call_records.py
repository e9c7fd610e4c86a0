"""Call records of every site through central's read API: gathered, ordered, paged, filtered,
and readable by supervisors only (real processes, real site databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import centrals, final_cdr, running_cluster, site_url
from webrtc_client.client import CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=2, centrals=1) as c:
        yield c


async def token_of(http: aiohttp.ClientSession, cluster: LocalCluster, agent_id: str) -> str:
    url = site_url(cluster, "branch-north")
    async with http.post(url + "/v1/agents/login", json={"agent_id": agent_id, "password": "demo"}) as r:
        return str((await r.json())["token"])


async def read(http: aiohttp.ClientSession, cluster: LocalCluster, token: str | None, **params: Any) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    query = {k: str(v) for k, v in params.items()}
    async with http.get(centrals(cluster)[0] + "/v1/calls", params=query, headers=headers) as r:
        return r.status, await r.json()


async def test_supervisors_page_through_the_calls_of_every_site(cluster: LocalCluster) -> None:
    placed: list[CustomerClient] = []
    for i, dialled in enumerate(["95589", "95590", "95589", "95590"]):
        customer = CustomerClient(centrals(cluster), caller=f"+861310000000{i}", dialled=dialled, media=False)
        await customer.call()
        await asyncio.sleep(0.3)
        await customer.hangup()  # abandoned in the IVR: a CDR at once
        placed.append(customer)
    for customer in placed:
        assert await final_cdr(cluster, customer.site, customer.call_id) is not None
        await customer.close()
    async with aiohttp.ClientSession() as http:
        manager = await token_of(http, cluster, "north-01")
        agent = await token_of(http, cluster, "north-05")
        status, first = await read(http, cluster, manager, limit=3)
        assert status == 200 and len(first["calls"]) == 3 and first["next"] and first["unavailable"] == []
        status, second = await read(http, cluster, manager, limit=3, cursor=first["next"])
        rows = first["calls"] + second["calls"]
        assert status == 200 and second["next"] is None
        order = [(r["arrival_at"], r["call_id"], r["site"]) for r in rows]
        assert order == sorted(order) and len(set(order)) == len(order)  # in order, none twice
        assert {c.call_id for c in placed} <= {r["call_id"] for r in rows}
        assert {r["site"] for r in rows} == {c.site for c in placed}
        status, cards = await read(http, cluster, manager, queue="credit_card")
        assert status == 200 and all(r["queue"] == "credit_card" for r in cards["calls"])
        one_site = placed[0].site
        status, there = await read(http, cluster, manager, site=one_site)
        assert status == 200 and {r["site"] for r in there["calls"]} == {one_site}
        assert (await read(http, cluster, agent))[1]["error_id"] == "role.forbidden"
        assert (await read(http, cluster, None))[1]["error_id"] == "token.malformed"
        assert (await read(http, cluster, manager, cursor="garbage"))[1]["error_id"] == "request.bad_field"
        assert (await read(http, cluster, manager, site="branch-nowhere"))[0] == 404
