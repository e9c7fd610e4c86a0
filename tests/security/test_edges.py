"""Finding 10 (edges), reproduced against a real cluster and refused: deeply nested JSON and
YAML, unsafe flow ids, an SDP offer without a DTLS fingerprint, a socket that never joins, a
cross-site "simple" POST, and pages without protective headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from site_node.signalling.server import JOIN_WITHIN_S
from tests.e2e.helpers import centrals, running_cluster, site_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

NO_FINGERPRINT_SDP = "\r\n".join([
    "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:0", "a=sendrecv",
    "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=setup:actpass",
    "a=rtpmap:111 opus/48000/2", "",
])  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1) as c:
        yield c


async def _status_and_id(response: aiohttp.ClientResponse) -> tuple[int, str]:
    return response.status, (await response.json(content_type=None)).get("error_id", "")


async def test_deeply_nested_json_is_malformed_input_not_an_internal_error(cluster: LocalCluster) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = '{"caller": "+8613000000000", "dialled": "95589", "x": ' + deep + "}"
    async with aiohttp.ClientSession() as http:
        async with http.post(centrals(cluster)[0] + "/v1/calls", data=body,
                             headers={"Content-Type": "application/json"}) as r:
            assert await _status_and_id(r) in ((400, "request.malformed_json"), (413, "request.too_large"))
        moderate = '{"caller": "+8613000000000", "dialled": "95589", "x": ' + "[" * 40 + "]" * 40 + "}"
        async with http.post(centrals(cluster)[0] + "/v1/calls", data=moderate,
                             headers={"Content-Type": "application/json"}) as r:
            assert await _status_and_id(r) == (400, "request.malformed_json")


async def test_a_cross_site_simple_post_does_not_route_a_call(cluster: LocalCluster) -> None:
    body = json.dumps({"caller": "+8613000000001", "dialled": "95589"})
    async with aiohttp.ClientSession() as http:
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            async with http.post(centrals(cluster)[0] + "/v1/calls", data=body,
                                 headers={"Content-Type": content_type, "Origin": "https://evil.example"}) as r:
                assert await _status_and_id(r) == (415, "request.content_type")


async def _manager_token(http: aiohttp.ClientSession, cluster: LocalCluster) -> str:
    async with http.post(site_url(cluster, "branch-north") + "/v1/agents/login",
                         json={"agent_id": "north-01", "password": "demo"}) as r:
        return str((await r.json())["token"])


@pytest.mark.parametrize("flow_id", ["../../etc", "a/b", "x\x00y", "", "-leading", "x" * 65])
async def test_a_flow_with_an_unsafe_id_is_refused(cluster: LocalCluster, flow_id: str) -> None:
    document = {"id": flow_id, "languages": ["en"], "start": "bye",
                "nodes": [{"id": "bye", "type": "hangup", "reason": "done"}]}
    async with aiohttp.ClientSession() as http:
        token = await _manager_token(http, cluster)
        async with http.post(site_url(cluster, "branch-north") + "/v1/flows", json=document,
                             headers={"Authorization": f"Bearer {token}"}) as r:
            assert await _status_and_id(r) == (400, "ivr.invalid_flow")


async def test_deeply_nested_yaml_is_an_invalid_flow(cluster: LocalCluster) -> None:
    deep = "id: x\nnodes: " + "[" * 5000 + "]" * 5000 + "\n"
    async with aiohttp.ClientSession() as http:
        token = await _manager_token(http, cluster)
        async with http.post(site_url(cluster, "branch-north") + "/v1/flows", data=deep,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"}) as r:
            assert await _status_and_id(r) == (400, "ivr.invalid_flow")


async def test_an_offer_without_a_dtls_fingerprint_is_bad_sdp(cluster: LocalCluster) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(centrals(cluster)[0] + "/v1/calls",
                             json={"caller": "+8613000000002", "dialled": "95589"}) as r:
            routed = await r.json()
        async with http.ws_connect(routed["ws_url"]) as ws:
            await ws.send_json({"type": "join", "token": routed["token"], "id": "1"})
            assert (await ws.receive_json(timeout=10))["type"] == "joined"
            await ws.send_json({"type": "offer", "sdp": NO_FINGERPRINT_SDP, "id": "2"})
            reply = await ws.receive_json(timeout=10)
            while reply.get("type") == "event":
                reply = await ws.receive_json(timeout=10)
            assert (reply["type"], reply["error_id"]) == ("error", "signalling.bad_sdp")


async def test_a_socket_that_never_joins_is_closed(cluster: LocalCluster) -> None:
    url = site_url(cluster, "branch-north").replace("http", "ws", 1) + "/ws"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        async with asyncio.timeout(JOIN_WITHIN_S + 10):
            message = await ws.receive()
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)


async def test_pages_and_json_carry_protective_headers(cluster: LocalCluster) -> None:
    async with aiohttp.ClientSession() as http:
        for url in (site_url(cluster, "branch-north") + "/agent", centrals(cluster)[0] + "/wallboard"):
            async with http.get(url) as r:
                assert r.status == 200
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert r.headers["Referrer-Policy"] == "no-referrer"
        async with http.get(centrals(cluster)[0] + "/v1/sites") as r:
            assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_only_the_clusters_own_pages_may_call_central_from_a_browser(cluster: LocalCluster) -> None:
    """Finding 6 (CORS): central answers cross-origin requests only for its sites' pages (and
    configured origins), not for any page on the web."""
    site_origin = site_url(cluster, "branch-north")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    async with aiohttp.ClientSession() as http:
        url = centrals(cluster)[0] + "/v1/calls"
        async with http.options(url, headers={**preflight, "Origin": site_origin}) as r:
            assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == site_origin
        async with http.options(url, headers={**preflight, "Origin": "https://evil.example"}) as r:
            assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
        async with http.get(centrals(cluster)[0] + "/v1/sites", headers={"Origin": "https://evil.example"}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers
        async with http.get(centrals(cluster)[0] + "/v1/sites", headers={"Origin": site_origin}) as r:
            assert r.headers["Access-Control-Allow-Origin"] == site_origin
