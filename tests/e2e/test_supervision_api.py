"""The supervisor console's API at a real site: a team leader sees their team live (pushed),
forces an agent not ready and messages them; other teams and plain agents are refused. At
central, one snapshot merges every site's (a manager sees every branch; a site filter)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import centrals, running_cluster, site_url
from webrtc_client.client import AgentClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SITE = "branch-north"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=2, centrals=1) as c:
        yield c


async def _token(http: aiohttp.ClientSession, url: str, agent_id: str) -> str:
    async with http.post(url + "/v1/agents/login", json={"agent_id": agent_id, "password": "demo"}) as r:
        return str((await r.json())["token"])


async def _call(http: aiohttp.ClientSession, method: str, url: str, token: str, **body: Any) -> tuple[int, Any]:
    async with http.request(method, url, json=body or None, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


async def _next_event(stream: aiohttp.ClientResponse) -> dict[str, Any]:
    while True:
        line = (await stream.content.readline()).decode().strip()
        if line.startswith("data: "):
            return dict(json.loads(line[6:]))


async def test_a_team_leader_watches_and_acts_on_their_team_only(cluster: LocalCluster) -> None:
    url = site_url(cluster, SITE)
    async with aiohttp.ClientSession() as http:
        mine = AgentClient(url, "north-04", "demo", media=False, http=http)  # team north-a
        theirs = AgentClient(url, "north-05", "demo", media=False, http=http)  # team north-b
        await mine.login()
        await theirs.login()
        leader = await _token(http, url, "north-02")  # team leader of north-a
        plain = await _token(http, url, "north-06")  # an agent
        status, snap = await _call(http, "GET", url + "/v1/supervisor/snapshot", leader)
        assert status == 200
        rows = {a["agent_id"]: a for a in snap["agents"]}
        assert "north-04" in rows and "north-05" not in rows
        assert rows["north-04"]["state"] == "not_ready" and rows["north-04"]["skills"]
        assert snap["queues"] and all("waiting" in q for q in snap["queues"].values())

        headers = {"Authorization": f"Bearer {leader}"}
        async with http.get(url + "/v1/supervisor/stream", headers=headers) as stream:
            await _next_event(stream)
            await mine.command({"type": "agent_state", "state": "not_ready", "reason": "lunch"})
            changed_at = time.monotonic()
            while True:
                view = await asyncio.wait_for(_next_event(stream), 5.0)
                row = next(a for a in view["agents"] if a["agent_id"] == "north-04")
                if row["reason"] == "lunch":
                    break
            assert time.monotonic() - changed_at < 1.0  # pushed within a second

        status, body = await _call(http, "POST", url + "/v1/supervisor/agents/north-04/not_ready", leader,
                                   reason="coaching")  # fmt: skip
        assert status == 200 and (body["state"], body["reason"]) == ("not_ready", "coaching")
        assert mine.sig is not None
        pushed = await mine.sig.event("agent_state")
        assert pushed["data"]["reason"] in ("lunch", "coaching")
        status, body = await _call(http, "POST", url + "/v1/supervisor/agents/north-04/message", leader,
                                   text="Please check card 4111 1111 1111 1111 notes")  # fmt: skip
        assert status == 200
        message = (await mine.sig.event("supervisor_message"))["data"]
        assert message["from"] == "north-02" and "4111 1111 1111 1111" not in message["text"]
        assert message["text"].endswith("1111 notes")

        refused = [
            await _call(http, "POST", url + "/v1/supervisor/agents/north-05/not_ready", leader, reason="x"),
            await _call(http, "GET", url + "/v1/supervisor/snapshot", plain),
            await _call(http, "POST", url + "/v1/supervisor/agents/north-04/message", plain, text="hi"),
            await _call(http, "POST", url + "/v1/supervisor/agents/north-04/not_ready", leader, reason=""),
            await _call(http, "POST", url + "/v1/supervisor/agents/north-99/not_ready", leader, reason="x"),
            await _call(http, "POST", url + "/v1/supervisor/media_token", plain),
        ]
        assert [(s, b["error_id"]) for s, b in refused] == [
            (403, "supervision.not_your_team"),
            (403, "role.forbidden"),
            (403, "role.forbidden"),
            (400, "supervision.bad_request"),
            (404, "supervision.agent_not_here"),
            (403, "role.forbidden"),
        ]
        await mine.close()
        await theirs.close()


async def test_the_consoles_softphone_joins_as_a_supervisor_not_as_an_agent(cluster: LocalCluster) -> None:
    url = site_url(cluster, SITE)
    async with aiohttp.ClientSession() as http:
        leader = await _token(http, url, "north-02")
        status, body = await _call(http, "POST", url + "/v1/supervisor/media_token", leader)
        assert status == 200
        async with http.ws_connect(url.replace("http", "ws", 1) + "/ws") as ws:
            await ws.send_json({"type": "join", "token": body["token"], "id": "j"})
            joined = await ws.receive_json(timeout=10)
            assert joined["type"] == "joined" and joined["kind"] == "supervisor", joined
            await ws.send_json({"type": "agent_state", "state": "ready", "id": "s"})  # not at the desk
            assert (await ws.receive_json(timeout=10))["error_id"] == "signalling.forbidden"
        status, snap = await _call(http, "GET", url + "/v1/supervisor/snapshot", leader)
        leader_rows = [a["state"] for a in snap["agents"] if a["agent_id"] == "north-02"]
        assert leader_rows in ([], ["logged_out"])  # listening in did not put the leader at the desk


async def test_central_merges_every_sites_snapshot(cluster: LocalCluster) -> None:
    north, south, central = site_url(cluster, SITE), site_url(cluster, "branch-south"), centrals(cluster)[0]
    async with aiohttp.ClientSession() as http:
        agents = [AgentClient(north, "north-04", "demo", media=False, http=http),
                  AgentClient(south, "south-04", "demo", media=False, http=http)]  # fmt: skip
        for agent in agents:
            await agent.login()
        manager = await _token(http, north, "north-01")
        leader = await _token(http, north, "north-02")  # team north-a
        plain = await _token(http, north, "north-06")
        status, view = await _call(http, "GET", central + "/v1/supervisor/snapshot", manager)
        assert status == 200 and view["unavailable"] == []
        seen = {(a["site"], a["agent_id"]) for a in view["agents"]}
        assert {(SITE, "north-04"), ("branch-south", "south-04")} <= seen
        assert {q["site"] for q in view["queues"].values()} == {SITE, "branch-south"}

        status, view = await _call(http, "GET", central + "/v1/supervisor/snapshot?site=branch-south", manager)
        assert status == 200 and {a["site"] for a in view["agents"]} == {"branch-south"}
        status, view = await _call(http, "GET", central + "/v1/supervisor/snapshot", leader)
        assert status == 200 and {a["team"] for a in view["agents"]} == {"north-a"}  # their team, every site

        refused = [
            await _call(http, "GET", central + "/v1/supervisor/snapshot", plain),
            await _call(http, "GET", central + "/v1/supervisor/snapshot?site=branch-west", manager),
            await _call(http, "GET", central + "/v1/supervisor/snapshot?team=" + "x" * 65, manager),
        ]
        assert [(s, b["error_id"]) for s, b in refused] == [
            (403, "role.forbidden"),
            (404, "site.unknown"),
            (400, "request.bad_field"),
        ]
        for agent in agents:
            await agent.close()
