"""A flow version published at one branch is used by every branch (real processes, real etcd)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from site_node.ivr import load_demo_registry
from tests.e2e.helpers import running_cluster, site_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=2, centrals=1) as c:
        yield c


async def flows(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url + "/v1/flows") as response:
        return await response.json()  # type: ignore[no-any-return]


async def test_a_flow_published_at_one_branch_reaches_the_other(cluster: LocalCluster) -> None:
    north, south = site_url(cluster, "branch-north"), site_url(cluster, "branch-south")
    document = copy.deepcopy(dict(load_demo_registry().latest("loans").source))
    document["name"] = "Loans hotline (new wording)"
    async with aiohttp.ClientSession() as http:
        async with http.post(north + "/v1/agents/login", json={"agent_id": "north-01", "password": "demo"}) as r:
            token = (await r.json())["token"]  # north-01 is the branch manager
        assert (await flows(http, south))["flows"]["loans"] == [1]
        async with http.post(north + "/v1/flows", json=document, headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 201, await r.text()
            assert (await r.json())["version"] == 2
        async with asyncio.timeout(10):
            while True:  # the other branch is another process: ask it again (nothing pushes to the test)
                if (await flows(http, south))["flows"]["loans"] == [1, 2]:
                    break
                await asyncio.sleep(0.1)
