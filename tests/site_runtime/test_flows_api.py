"""Publishing IVR flow versions without a restart: validation, roles, storage, and the same
versions at every site of a cluster (through a real etcd)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from cluster.clock import ManualClock
from cluster.etcd import Etcd
from cluster.http import HttpServer, make_app
from cluster.keys import Keyspace
from cluster.tasks import cancel_and_wait
from cluster.tokens import TokenSigner
from site_node.flows.api import FlowsApi, load_flows
from site_node.flows.sync import FlowCluster
from site_node.ivr import load_demo_registry
from site_node.ivr.registry import FlowRegistry
from site_node.storage import Storage

SECRET = "a-test-secret-of-enough-length-for-hs256"


def _notify_publish(registry: FlowRegistry) -> asyncio.Event:
    """An event set whenever a version is published into ``registry`` (by the API or by the
    cluster follower), so a test waits for a version instead of polling for it."""
    published = asyncio.Event()
    publish = registry.publish

    def notifying(raw: Any) -> Any:
        flow = publish(raw)
        published.set()
        return flow

    registry.publish = notifying  # type: ignore[method-assign]
    return published


@contextlib.asynccontextmanager
async def open_site(path: Path, *, name: str = "site", etcd: Etcd | None = None,
                    keys: Keyspace | None = None, follow: bool = True) -> AsyncIterator[dict[str, Any]]:
    """A site's flow API on its own database; with ``etcd``, part of a cluster (following it)."""
    clock = ManualClock()
    storage = await Storage.open(f"sqlite+aiosqlite:///{path / f'{name}.db'}")
    registry = load_demo_registry()
    published = _notify_publish(registry)
    await load_flows(storage, registry, now=clock.now())
    signer = TokenSigner(SECRET, clock=clock)
    app = make_app(lambda: {"ok": True})
    cluster = None
    follower = None
    if etcd is not None:
        cluster = FlowCluster(lambda: storage, registry, site=name)
        cluster.connect(etcd, keys or Keyspace())
        if follow:
            follower = asyncio.create_task(cluster.run())

    def guard(handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            return await handler(request)  # type: ignore[no-any-return]

        return wrapped

    prompts = path / "prompts"
    prompts.mkdir(exist_ok=True)
    FlowsApi(lambda: storage, registry, signer, clock, cluster, prompts_dir=prompts).install(app, guard)
    server = HttpServer(app, "127.0.0.1", 0, port_flag="--port")
    await server.start()
    try:
        yield {"url": server.url, "storage": storage, "registry": registry, "signer": signer, "tmp": path,
               "cluster": cluster, "published": published}
    finally:
        if follower is not None:
            await cancel_and_wait([follower])
        await server.stop()
        await storage.close()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with open_site(tmp_path) as opened:
        yield opened


async def publish(site: dict[str, Any], document: Any, role: str | None) -> tuple[int, dict[str, Any]]:
    headers = {}
    if role is not None:
        headers["Authorization"] = "Bearer " + site["signer"].issue("agent", f"a-{role}", role=role)
    async with aiohttp.ClientSession() as http, http.post(site["url"] + "/v1/flows", json=document,
                                                           headers=headers) as response:
        return response.status, await response.json()


async def test_new_version_applies_to_new_calls_and_survives_a_restart(site: dict[str, Any]) -> None:
    registry = site["registry"]
    before = registry.latest("loans")
    document = copy.deepcopy(dict(before.source))
    document["name"] = "Loans hotline (new wording)"
    status, body = await publish(site, document, "manager")
    assert (status, body["flow_id"], body["version"]) == (201, "loans", before.version + 1)
    assert registry.latest("loans").name == "Loans hotline (new wording)"
    assert registry.get("loans", before.version) is before  # calls in progress keep theirs
    restarted = load_demo_registry()
    await load_flows(site["storage"], restarted, now=0.0)
    assert restarted.latest("loans").version == before.version + 1
    assert restarted.latest("loans").name == "Loans hotline (new wording)"
    audit = await site["storage"].audit.entries(action="flow_published")
    assert [(a.actor, a.target) for a in audit] == [("a-manager", "loans")]


@pytest.mark.parametrize(
    ("role", "mutate", "status", "error_id"),
    [
        (None, None, 401, "token.malformed"),
        ("agent", None, 403, "role.forbidden"),
        ("manager", "bad_next", 400, "ivr.invalid_flow"),
        ("manager", "no_nodes", 400, "ivr.invalid_flow"),
    ],
)
async def test_refused_publications_change_nothing(site: dict[str, Any], role: str | None, mutate: str | None,
                                                   status: int, error_id: str) -> None:
    registry = site["registry"]
    before = registry.versions("loans")
    stored = await site["storage"].flows.flow_versions("loans")
    document = copy.deepcopy(dict(registry.latest("loans").source))
    if mutate == "bad_next":
        document["nodes"][0]["next"] = "nowhere"
    elif mutate == "no_nodes":
        document["nodes"] = []
    got_status, body = await publish(site, document, role)
    assert (got_status, body["error_id"]) == (status, error_id)
    if mutate == "bad_next":
        assert document["nodes"][0]["id"] in body["message"]  # the error names the node
    assert registry.versions("loans") == before
    assert await site["storage"].flows.flow_versions("loans") == stored


async def versions_become(site: dict[str, Any], flow_id: str, expected: list[int], timeout_s: float = 10.0) -> None:
    published: asyncio.Event = site["published"]
    async with asyncio.timeout(timeout_s):
        while site["registry"].versions(flow_id) != expected:
            await published.wait()
            published.clear()


def reworded(site: dict[str, Any], name: str) -> dict[str, Any]:
    document = copy.deepcopy(dict(site["registry"].latest("loans").source))
    document["name"] = name
    return document


async def test_a_version_published_at_one_site_reaches_every_site(tmp_path: Path, etcd: Etcd,
                                                                  keyspace: Keyspace) -> None:
    async with open_site(tmp_path, name="north", etcd=etcd, keys=keyspace) as north, \
            open_site(tmp_path, name="south", etcd=etcd, keys=keyspace) as south:
        status, body = await publish(north, reworded(north, "Loans (north wording)"), "manager")
        assert (status, body["version"]) == (201, 2)
        await versions_become(south, "loans", [1, 2])
        assert south["registry"].latest("loans").name == "Loans (north wording)"
        assert await south["storage"].flows.flow_versions("loans") == [1, 2]  # stored: survives a restart
        applied = await south["storage"].audit.entries(action="apply_flow")
        assert [(a.actor, a.target, a.details["from_site"]) for a in applied] == [("a-manager", "loans", "north")]

        status, body = await publish(south, reworded(south, "Loans (south wording)"), "manager")
        assert (status, body["version"]) == (201, 3)
        await versions_become(north, "loans", [1, 2, 3])
        assert north["registry"].latest("loans").name == "Loans (south wording)"

    # A site that was down (or new) catches up when it starts, before taking calls.
    async with open_site(tmp_path, name="east", etcd=etcd, keys=keyspace, follow=False) as east:
        assert east["registry"].versions("loans") == [1]
        await east["cluster"].sync()
        assert east["registry"].versions("loans") == [1, 2, 3]
        assert east["registry"].latest("loans").name == "Loans (south wording)"


async def test_two_sites_cannot_both_publish_the_same_version(tmp_path: Path, etcd: Etcd,
                                                              keyspace: Keyspace) -> None:
    async with open_site(tmp_path, name="north", etcd=etcd, keys=keyspace) as north, \
            open_site(tmp_path, name="south", etcd=etcd, keys=keyspace, follow=False) as south:
        status, _ = await publish(north, reworded(north, "Loans (north wording)"), "manager")
        assert status == 201
        # South has not heard of version 2 yet: its own version 2 is refused and changes nothing.
        status, body = await publish(south, reworded(south, "Loans (south wording)"), "manager")
        assert (status, body["error_id"]) == (409, "flow.conflict")
        assert south["registry"].versions("loans") == [1]
        assert await south["storage"].flows.flow_versions("loans") == [1]
        assert await south["storage"].audit.entries(action="flow_published") == []
        # Once it has caught up, publishing again makes version 3 everywhere.
        await south["cluster"].sync()
        status, body = await publish(south, reworded(south, "Loans (south wording)"), "manager")
        assert (status, body["version"]) == (201, 3)
        await versions_become(north, "loans", [1, 2, 3])
        kvs, _ = await etcd.get_prefix(keyspace.flow_versions("loans"))
        assert [keyspace.parse_flow(kv.key) for kv in kvs] == [("loans", 2), ("loans", 3)]


async def test_a_flow_naming_a_missing_recording_is_refused_and_changes_nothing(site: dict[str, Any]) -> None:
    registry = site["registry"]
    document = copy.deepcopy(dict(registry.latest("loans").source))
    welcome = next(n for n in document["nodes"] if n["id"] == "welcome")
    welcome["audio"] = {"en": "welcome_en.wav", "zh": "welcome_zh.wav"}
    before = registry.versions("loans")
    status, body = await publish(site, document, "manager")
    assert (status, body["error_id"]) == (400, "ivr.invalid_flow")
    assert "'welcome'" in body["message"] and "welcome_en.wav" in body["message"]
    assert registry.versions("loans") == before
    assert await site["storage"].flows.flow_versions("loans") == before
