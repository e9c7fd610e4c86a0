"""Central's API on real processes: leader killed during a burst of routes; bad input."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from cluster.callrecords import CallRecord
from cluster.etcd import Etcd
from cluster.keys import Keyspace
from cluster.launcher import LocalCluster, http_json
from cluster.tokens import TokenSigner
from tests.e2e.helpers import centrals, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=3, seed=True) as c:
        yield c


async def records(cluster: LocalCluster) -> dict[str, CallRecord]:
    assert cluster.etcd is not None
    etcd = await Etcd.connect(cluster.etcd.endpoints)
    try:
        kvs, _ = await etcd.get_prefix(Keyspace().calls)
    finally:
        await etcd.close()
    return {Keyspace.leaf(kv.key): CallRecord.from_kv(kv) for kv in kvs}


async def post(http: aiohttp.ClientSession, url: str, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(url, data=data, headers={"Content-Type": "application/json"}, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def test_leader_killed_during_a_burst_every_accepted_call_routed_exactly_once(cluster: LocalCluster) -> None:
    urls = centrals(cluster)
    accepted: dict[str, dict[str, Any]] = {}
    failures: list[str] = []

    async def caller(http: aiohttp.ClientSession, i: int) -> None:
        request_id = f"burst-{i:04d}"
        deadline = time.monotonic() + 30
        attempt = 0
        while time.monotonic() < deadline:
            url = urls[(i + attempt) % len(urls)]
            attempt += 1
            try:
                status, body = await post(http, url + "/v1/calls",
                                          {"caller": f"+86135{i:06d}", "dialled": "8000", "request_id": request_id},
                                          timeout=aiohttp.ClientTimeout(total=3))
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.1)
                continue
            if status == 201:
                accepted[request_id] = body
                return
            await asyncio.sleep(0.1)  # no leader yet, busy, or the old leader: retry
        failures.append(request_id)

    leader = cluster.leader()
    assert leader is not None
    async with aiohttp.ClientSession() as http:
        tasks = []
        for i in range(300):
            tasks.append(asyncio.create_task(caller(http, i)))
            if i == 100:
                next(p for p in cluster.procs if p.name == leader).signal(signal.SIGKILL)
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
    assert failures == []
    assert len(accepted) == 300
    stored = await records(cluster)
    burst = {k: v for k, v in stored.items() if v.caller.startswith("+86135")}
    assert set(burst) == {body["call_id"] for body in accepted.values()}  # none lost, none extra
    signer = TokenSigner(cluster.secret)
    for request_id, body in accepted.items():
        assert body["call_id"] == signer.digest(request_id) != request_id  # the request id stays the client's
        assert burst[body["call_id"]].site == body["site"]
    tokens = {r.fencing_token for r in burst.values()}
    assert 1 <= len(tokens) <= 2  # routed by the old leader, then by the new one


async def test_bad_input_gets_stable_errors_and_changes_nothing(cluster: LocalCluster) -> None:
    url = centrals(cluster)[0]
    before = await records(cluster)
    signer = TokenSigner(cluster.secret)
    forged = TokenSigner("another-secret-that-nobody-configured-0123456789").issue("call", "x")
    async with aiohttp.ClientSession() as http:
        cases: list[tuple[str, Any, int, str]] = [
            ("/v1/calls", b"{not json", 400, "request.malformed_json"),
            ("/v1/calls", [1, 2], 400, "request.malformed_json"),
            ("/v1/calls", {"caller": "+1"}, 400, "request.bad_field"),
            ("/v1/calls", {"caller": "<script>", "dialled": "8000"}, 400, "route.bad_number"),
            ("/v1/calls", {"caller": "+1", "dialled": "8000", "customer_token": forged}, 401, "token.forged"),
            ("/v1/calls", b"x" * 100_000, 413, "request.too_large"),
            ("/v1/calls/nope/reconnect", {"token": forged}, 401, "token.forged"),
            ("/v1/calls/nope/reconnect", {"token": signer.issue("call", "nope", ttl_s=-5 * 3600)}, 401,
             "token.expired"),
            ("/v1/calls/nope/reconnect", {"token": signer.issue("call", "nope")}, 404, "call.unknown"),
            ("/v1/calls/other/reconnect", {"token": signer.issue("call", "nope")}, 403, "token.wrong_call"),
            ("/v1/agents/reattach", {"token": signer.issue("call", "x")}, 401, "token.wrong_kind"),
        ]
        for path, body, status, error_id in cases:
            got_status, got = await post(http, url + path, body)
            assert (got_status, got.get("error_id")) == (status, error_id), (path, body if len(str(body)) < 200 else "")
            assert got.get("message")
        operator = cluster.operator_headers()
        async with http.get(url + "/v1/calls/does-not-exist", headers=operator) as response:
            assert response.status == 404 and (await response.json())["error_id"] == "call.unknown"
        async with http.get(url + "/v1/calls/bad%20id", headers=operator) as response:
            assert response.status == 400 and (await response.json())["error_id"] == "call.bad_id"
    assert await records(cluster) == before
    assert all(http_json(p.url + "/healthz") for p in cluster.procs if p.alive)
