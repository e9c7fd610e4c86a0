"""The site's client path: replicas in turn, the read cache, one history for every site."""

from __future__ import annotations

import aiohttp
import pytest

from cluster.clock import SYSTEM_CLOCK
from cluster.etcd_server import free_port
from site_node.crm import CentralCrm, CrmUnavailable
from tests.crm.conftest import CrmServer


def _client(crm: CrmServer, site: str, urls: list[str]) -> CentralCrm:
    async def centrals() -> list[str]:
        return urls

    return CentralCrm(centrals, crm.signer, SYSTEM_CLOCK, site=site, timeout_s=1.0, retry_s=0.01)


async def test_a_call_written_by_one_site_is_in_the_history_another_site_reads(crm: CrmServer) -> None:
    async with aiohttp.ClientSession() as http:
        body = {"customer_number": "C1", "name": "Anna Weber", "phones": ["+4917000001"]}
        async with http.post(crm.url + "/v1/customers", json=body, headers=crm.bearer("team_leader")) as r:
            assert r.status == 201
    dead = f"http://127.0.0.1:{free_port()}"  # a replica that is down: the next one answers
    north, south = _client(crm, "branch-north", [dead, crm.url]), _client(crm, "branch-south", [crm.url])
    try:
        (found,) = await north.lookup("phone", "+49 170 00001")
        assert found["customer_number"] == "C1"
        entry = {"call_id": "call-1", "at": 100.0, "queue": "retail", "agent_id": "north-04",
                 "outcome": "failed_over", "failovers": 0}  # fmt: skip
        await north.append_call("C1", entry)
        await south.append_call("C1", {**entry, "at": 101.0, "agent_id": "south-04", "outcome": "answered",
                                       "wrap_up_code": "balance", "failovers": 1})  # fmt: skip
        await south.append_call("C1", {**entry, "at": 101.0, "outcome": "answered", "wrap_up_code": "card"})
        page = await south.history("C1", limit=10)
        seen = [(e["site"], e["details"]["outcome"], e["details"].get("wrap_up_code")) for e in page["entries"]]
        assert seen == [("branch-south", "answered", "card"), ("branch-north", "failed_over", None)]
        assert (await north.history("C1", limit=10))["entries"] == page["entries"]
        await crm.api.audit.flush()  # type: ignore[union-attr]  # written in batches
        audited = await crm.api.service.store.audit_entries("C1")  # type: ignore[union-attr]
        assert {e["actor"] for e in audited} >= {"site:branch-north", "site:branch-south"}
    finally:
        await north.close()
        await south.close()


async def test_a_cached_screen_pop_survives_central_being_unreachable(crm: CrmServer) -> None:
    async with aiohttp.ClientSession() as http:
        body = {"customer_number": "C2", "name": "Ben Kaya", "phones": ["+4917000002"]}
        async with http.post(crm.url + "/v1/customers", json=body, headers=crm.bearer("team_leader")) as r:
            assert r.status == 201
    urls = [crm.url]
    site = _client(crm, "branch-east", urls)
    try:
        assert (await site.lookup("phone", "+4917000002"))[0]["name"] == "Ben Kaya"
        urls[:] = [f"http://127.0.0.1:{free_port()}"]  # central unreachable
        assert (await site.lookup("phone", "+4917000002"))[0]["name"] == "Ben Kaya"
        assert (await site.customer("C2") or {})["name"] == "Ben Kaya"
        with pytest.raises(CrmUnavailable):
            await site.lookup("phone", "+4917000099")  # never asked: nothing to fall back on
        urls[:] = [crm.url]
        assert await site.lookup("phone", "+4917000099") == []  # unknown number: an answer, not an error
    finally:
        await site.close()


async def test_the_cache_is_bounded(crm: CrmServer) -> None:
    async def centrals() -> list[str]:
        return [crm.url]

    site = CentralCrm(centrals, crm.signer, SYSTEM_CLOCK, site="branch-north", cache_size=3)
    try:
        for i in range(10):
            await site.lookup("phone", f"+49170000{i:03d}")
        assert len(site._cache) == 3
    finally:
        await site.close()
