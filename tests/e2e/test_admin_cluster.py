"""Administration without a restart (issue 19, point 4), against one real cluster (processes,
etcd, SQLite): an administrator at central changes a logged-in agent's skills, a queue and the
not-ready codes; every site applies them and audits them; bad input and a stale version are
refused naming the field, and nothing is applied."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import agent_ready, centrals, running_cluster, site_url, wait_published

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

ADMIN, AGENT = "north-10", "north-05"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("admin"), sites=2, centrals=1) as c:
        yield c


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def token(http: aiohttp.ClientSession, cluster: LocalCluster, agent_id: str) -> str:
    url = site_url(cluster, "branch-north") + "/v1/agents/login"
    async with http.post(url, json={"agent_id": agent_id, "password": "demo"}) as r:
        assert r.status == 200, await r.text()
        return str((await r.json())["token"])


async def call(http: aiohttp.ClientSession, method: str, url: str, bearer: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, url, json=body, headers={"Authorization": f"Bearer {bearer}"}) as r:
        return r.status, await r.json()


async def until_applied(http: aiohttp.ClientSession, cluster: LocalCluster, name: str, version: int) -> dict[str, Any]:
    """Every site's ``/v1/codes`` once it has applied version ``version`` of ``name``."""
    bodies: dict[str, Any] = {}
    async with asyncio.timeout(10):
        for site in ("branch-north", "branch-south"):
            while True:
                async with http.get(site_url(cluster, site) + "/v1/codes") as r:
                    bodies[site] = await r.json()
                if bodies[site]["applied"].get(name, 0) >= version:
                    break
                await asyncio.sleep(0.1)
    return bodies


async def test_a_skill_change_reaches_the_logged_in_agent_without_a_restart(
    cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    central = centrals(cluster)[0]
    admin = await token(http, cluster, ADMIN)
    status, config = await call(http, "GET", central + "/v1/admin/config", admin)
    assert status == 200, config
    agent = config["agents"][AGENT]
    new_skill = sorted(set(config["skills"]) - set(agent["skills"]))[0]
    desk = await agent_ready(cluster, "branch-north", AGENT, 660.0)
    try:
        await wait_published(cluster, "branch-north", new_skill, ready=0)  # nobody else is ready
        skills = {**agent["skills"], new_skill: 7}
        status, changed = await call(http, "PUT", f"{central}/v1/admin/agents/{AGENT}", admin,
                                     {"version": agent["version"], "skills": skills})  # fmt: skip
        assert (status, changed["version"], changed["skills"]) == (200, agent["version"] + 1, skills), changed
        # the same running site, the same desktop session: the ACD offers new_skill calls to the agent now
        await wait_published(cluster, "branch-north", new_skill, ready=1)
        await until_applied(http, cluster, f"agents/{AGENT}", agent["version"] + 1)
    finally:
        await desk.close()
    query = f"/v1/audit?action=admin_applied&target=agents/{AGENT}&actor={ADMIN}"
    status, audit = await call(http, "GET", central + query, admin)
    assert status == 200, audit
    assert {(e["site"], e["actor"]) for e in audit["entries"]} == {("branch-north", ADMIN), ("branch-south", ADMIN)}
    assert all(e["details"]["skills"] == skills for e in audit["entries"])


async def test_queue_and_code_changes_are_applied_at_every_site(
    cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    central = centrals(cluster)[0]
    admin = await token(http, cluster, ADMIN)
    _, config = await call(http, "GET", central + "/v1/admin/config", admin)
    queue = config["queues"]["loans"]
    status, changed = await call(http, "PUT", central + "/v1/admin/queues/loans", admin,
                                 {"version": queue["version"], "min_level": 4, "sl_threshold_s": 15})  # fmt: skip
    assert status == 200 and changed["min_level"] == 4, changed
    codes = config["codes"]["not_ready"]
    status, changed = await call(http, "PUT", central + "/v1/admin/codes/not_ready", admin,
                                 {"version": codes["version"], "codes": ["break", "coaching"]})  # fmt: skip
    assert status == 200, changed
    bodies = await until_applied(http, cluster, "codes/not_ready", codes["version"] + 1)
    assert all(b["codes"]["not_ready"] == ["break", "coaching"] for b in bodies.values())
    assert all(b["applied"]["queues/loans"] == queue["version"] + 1 for b in bodies.values())


async def test_bad_input_and_stale_versions_are_refused_and_change_nothing(
    cluster: LocalCluster, http: aiohttp.ClientSession
) -> None:
    central = centrals(cluster)[0]
    admin, agent = await token(http, cluster, ADMIN), await token(http, cluster, AGENT)
    _, before = await call(http, "GET", central + "/v1/admin/config", admin)
    a_version = before["agents"][AGENT]["version"]
    q_version = before["queues"]["retail"]["version"]
    refused = [
        ("/v1/admin/queues/retail", admin, {"version": q_version, "skill": "astrology"}, 400, "admin.invalid", "skill"),
        (f"/v1/admin/agents/{AGENT}", admin, {"version": a_version, "skills": {"retail": 11}}, 400, "admin.invalid",
         "skills.retail"),
        ("/v1/admin/agents/nobody-99", admin, {"version": 1, "skills": {"retail": 5}}, 404, "admin.not_found",
         "agent_id"),
        (f"/v1/admin/agents/{AGENT}", admin, {"version": a_version - 1, "team": "north-b"}, 409,
         "admin.version_conflict", None),
        (f"/v1/admin/agents/{AGENT}", agent, {"version": a_version, "team": "north-b"}, 403, "role.forbidden", None),
    ]  # fmt: skip
    for path, bearer, body, status, error_id, field in refused:
        got, answer = await call(http, "PUT", central + path, bearer, body)
        assert (got, answer["error_id"]) == (status, error_id), (path, answer)
        if field is not None:
            assert answer["details"]["field"] == field, answer
    status, _ = await call(http, "GET", central + "/v1/admin/config", agent)
    assert status == 403
    _, after = await call(http, "GET", central + "/v1/admin/config", admin)
    assert after == before
