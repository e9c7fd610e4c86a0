"""Publishing IVR flow versions on a site without a restart: validation, roles, storage."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from cluster.clock import ManualClock
from cluster.http import HttpServer, make_app
from cluster.tokens import TokenSigner
from site_node.ivr import load_demo_registry
from site_node.runtime.flows_api import FlowsApi, load_flows
from site_node.storage import Storage

SECRET = "a-test-secret-of-enough-length-for-hs256"


@pytest.fixture
async def site(tmp_path) -> AsyncIterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'site.db'}")
    registry = load_demo_registry()
    await load_flows(storage, registry, now=clock.now())
    signer = TokenSigner(SECRET, clock=clock)
    app = make_app(lambda: {"ok": True})

    def guard(handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            return await handler(request)  # type: ignore[no-any-return]

        return wrapped

    FlowsApi(lambda: storage, registry, signer, clock).install(app, guard)
    server = HttpServer(app, "127.0.0.1", 0, port_flag="--port")
    await server.start()
    try:
        yield {"url": server.url, "storage": storage, "registry": registry, "signer": signer, "tmp": tmp_path}
    finally:
        await server.stop()
        await storage.close()


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
    audit = await site["storage"].audit.entries(action="publish_flow")
    assert [(a.actor, a.target) for a in audit] == [("a-manager", "loans")]


@pytest.mark.parametrize(
    ("role", "mutate", "status", "error_id"),
    [
        (None, None, 401, "token.malformed"),
        ("agent", None, 403, "flow.forbidden"),
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
