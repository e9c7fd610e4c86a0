"""Finding 12 over HTTP, against a real cluster (etcd, a central, a site, SQLite): logins,
failed logins, the customer record an agent is shown when a call rings, and logouts are
audited with actor, role, time, site and target; ``GET /v1/audit`` at the site and at central
(every site's entries, ``unavailable`` named) answers administrators and compliance officers
only, pages in arrival order, and records each read as ``audit_read``; the chain is intact."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from site_node.storage.audit import verify_database
from site_node.storage.seed import DEMO_PIN
from tests.e2e.helpers import (
    CARDS,
    a_customer,
    add_agent,
    agent_ready,
    centrals,
    running_cluster,
    site_url,
    wait_published,
)
from webrtc_client.client import CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
OFFICER = "north-99"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1) as c:
        add_agent(c, "branch-north", OFFICER, "compliance")
        yield c


async def _token(http: aiohttp.ClientSession, site: str, agent_id: str, password: str = "demo") -> str | None:
    async with http.post(site + "/v1/agents/login", json={"agent_id": agent_id, "password": password}) as r:
        return (await r.json())["token"] if r.status == 200 else None


async def _get(http: aiohttp.ClientSession, url: str, token: str | None, **params: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, params=params, headers=headers) as r:
        return r.status, await r.json()


async def _all_pages(http: aiohttp.ClientSession, url: str, token: str, **params: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor: str | None = ""
    while cursor is not None:
        status, body = await _get(http, url, token, **params, **({"cursor": cursor} if cursor else {}))
        assert status == 200, body
        entries += body["entries"]
        cursor = body["next"]
    return entries


async def _until(http: aiohttp.ClientSession, url: str, token: str, action: str) -> list[dict[str, Any]]:
    """Entries of ``action`` once there is one (some are written by a task, just after the fact)."""
    for _ in range(50):
        status, body = await _get(http, url, token, action=action)
        if status == 200 and body["entries"]:
            return list(body["entries"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {action} entry")


async def test_people_actions_are_audited_and_read_only_by_admin_and_compliance(cluster: LocalCluster) -> None:
    site, central = site_url(cluster, "branch-north"), centrals(cluster)[0]
    customer_id, customer_number = a_customer(cluster)
    async with aiohttp.ClientSession() as http:
        assert await _token(http, site, "north-07", "wrong") is None
        agent = await agent_ready(cluster, "branch-north", "north-04", 660.0)
        await wait_published(cluster, "branch-north", "credit_card", ready=1)
        customer = CustomerClient(centrals(cluster), caller="+8613100000077", dialled=CARDS, tone_hz=440.0)
        await customer.call()
        await customer.press("2", how="datachannel")  # bill enquiry: identify with the customer number
        await customer.press(customer_number + "#", how="datachannel")
        ring = await agent.wait_ringing(40)
        assert ring["screen_pop"]["customer"]["id"] == customer_id
        await agent.command({"type": "decline", "call_id": ring["call_id"]})
        await customer.close()
        await agent.command({"type": "agent_state", "state": "logout"})
        await agent.close()

        officer, admin = await _token(http, site, OFFICER), await _token(http, site, "north-10")
        manager, plain = await _token(http, site, "north-01"), await _token(http, site, "north-05")
        assert officer and admin and manager and plain
        audit = site + "/v1/audit"
        viewed = await _until(http, audit, officer, "customer_viewed")
        logout = await _until(http, audit, officer, "logout")
        status, body = await _get(http, audit, admin, action="login_failed")
        assert status == 200
        who = {(e["action"], e["actor"], e["role"], e["site"], e["target"]) for e in [*viewed, *logout,
                                                                                         *body["entries"]]}
        assert who == {
            ("customer_viewed", "north-04", "agent", "branch-north", customer_id),
            ("logout", "north-04", "agent", "branch-north", "branch-north"),
            ("login_failed", "north-07", "", "branch-north", "branch-north"),
        }
        assert viewed[0]["details"] == {"call_id": ring["call_id"]}
        status, body = await _get(http, audit, officer, action="login", actor="north-04")
        assert [(e["actor"], e["role"]) for e in body["entries"]] == [("north-04", "agent")]
        assert all(time.time() - 300 < e["at"] <= time.time() for e in body["entries"])

        # who may read: administrators and compliance officers, nobody else, never without a token
        for token, expected in ((plain, 403), (manager, 403), (None, 401)):
            status, body = await _get(http, audit, token)
            assert status == expected and body["error_id"] in ("role.forbidden", "token.malformed"), body
            status, body = await _get(http, central + "/v1/audit", token)
            assert status == expected, body

        # pages in arrival order; the pages together are the one big page
        until = repr(time.time())
        whole = (await _get(http, audit, officer, to=until, limit="500"))[1]["entries"]
        paged = await _all_pages(http, audit, officer, to=until, limit="2")
        assert [e["id"] for e in paged] == [e["id"] for e in whole] and len(whole) > 5
        assert [(e["at"], e["id"]) for e in whole] == sorted((e["at"], e["id"]) for e in whole)
        text = json.dumps(whole)
        details = json.dumps([e["details"] for e in whole])
        assert DEMO_PIN not in text and customer_number not in details  # nothing the caller keyed in is kept
        # the customer number is the viewed record's id at central (issue 17): only its view names it
        assert {e["action"] for e in whole if e["target"] == customer_number} == {"customer_viewed"}

        # central gathers every site's entries, the same ones, and says which sites did not answer
        status, gathered = await _get(http, central + "/v1/audit", admin, to=until, limit="500")
        assert status == 200 and gathered["unavailable"] == []
        assert [e["id"] for e in gathered["entries"]] == [e["id"] for e in whole]
        paged = await _all_pages(http, central + "/v1/audit", admin, to=until, limit="3")
        assert [e["id"] for e in paged] == [e["id"] for e in whole]
        status, body = await _get(http, central + "/v1/audit", admin, site="nowhere")
        assert (status, body["error_id"]) == (404, "site.unknown")

        # reading is audited, by whom and with what filters
        reads = await _all_pages(http, audit, officer, action="audit_read")
        assert {(e["actor"], e["role"]) for e in reads} >= {(OFFICER, "compliance"), ("north-10", "admin")}
        assert any(e["details"].get("action") == "customer_viewed" for e in reads)

    report = await verify_database(f"sqlite+aiosqlite:///{cluster.base_dir / 'data' / 'branch-north.db'}")
    assert report.ok and report.chains["branch-north"].entries > len(whole)
