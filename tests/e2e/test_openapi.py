"""The OpenAPI documents of central and a site name every route the processes serve, and real
responses (successes and refusals) validate against them, refusals with a documented error id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web

from central.config import CentralSettings
from central.node import CentralNode
from cluster.config import load_settings
from cluster.launcher import LocalCluster
from site_node.config import SiteSettings
from site_node.node import SiteNode
from tests.e2e.helpers import centrals, running_cluster, site_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1) as c:
        yield c


def served_routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or f"{info.get('prefix')}/{{filename}}"
        found.add((route.method.lower(), str(path)))
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in doc["paths"].items() for method in ops}


def test_every_route_of_central_and_of_a_site_is_documented(tmp_path: Path) -> None:
    secret = {"tokens": {"secret": "x" * 48}}
    central = CentralNode(load_settings(environ={}, overrides=secret, model=CentralSettings))
    site_section = {"data_dir": str(tmp_path), "recording_key": "r" * 48}
    site = SiteNode(load_settings(environ={}, overrides={**secret, "site": site_section}, model=SiteSettings))
    for app in (central.app, site.app):
        doc = _own_document(app)
        missing = served_routes(app) - documented(doc)
        assert missing == set(), f"routes not in /openapi.json: {sorted(missing)}"


def _own_document(app: web.Application) -> dict[str, Any]:
    from central.openapi import describe as central_doc
    from site_node.openapi import describe as site_doc

    paths = {str(r.resource.get_info().get("path")) for r in app.router.routes() if r.resource is not None}
    return (central_doc() if "/v1/calls" in paths else site_doc()).document()


async def _login(http: aiohttp.ClientSession, site: str, agent_id: str = "north-01") -> dict[str, Any]:
    async with http.post(site + "/v1/agents/login", json={"agent_id": agent_id, "password": "demo"}) as r:
        return await r.json()  # type: ignore[no-any-return]


class Checker:
    def __init__(self, http: aiohttp.ClientSession, base: str, doc: dict[str, Any]) -> None:
        self.http, self.base, self.doc = http, base, doc
        self.checked: list[tuple[str, str, int]] = []

    async def call(self, method: str, path: str, template: str | None = None, **kwargs: Any) -> Any:
        async with self.http.request(method, self.base + path, **kwargs) as response:
            body = await response.json(content_type=None)
            status = response.status
        operation = self.doc["paths"][template or path][method.lower()]
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{method} {path} answered {status}, not documented: {body}"
        schema = documented["content"]["application/json"]["schema"]
        jsonschema.validate(body, {**schema, "components": self.doc["components"]})
        if status >= 400:
            assert body["error_id"] in documented["x-error-ids"], (method, path, body)
        self.checked.append((method, template or path, status))
        return body


async def test_real_responses_validate_against_the_documents(cluster: LocalCluster) -> None:
    async with aiohttp.ClientSession() as http:
        central_url, site = centrals(cluster)[0], site_url(cluster, "branch-north")
        async with http.get(central_url + "/openapi.json") as r:
            central_doc = await r.json()
        async with http.get(site + "/openapi.json") as r:
            site_doc = await r.json()
        assert central_doc["openapi"] == site_doc["openapi"] == "3.1.0"
        c = Checker(http, central_url, central_doc)
        routed = await c.call("POST", "/v1/calls", json={"caller": "+8613200000000", "dialled": "95589"})
        call_id, template = routed["call_id"], "/v1/calls/{call_id}"
        await c.call("GET", f"/v1/calls/{call_id}", template, headers={"Authorization": f"Bearer {routed['token']}"})
        await c.call("GET", f"/v1/calls/{call_id}", template)
        await c.call("GET", "/v1/calls/no-such-call", template, headers=cluster.operator_headers())
        await c.call("POST", "/v1/calls", json={"caller": "+86", "dialled": "not a number"})
        await c.call("POST", "/v1/calls", data=b"{not json", headers={"Content-Type": "application/json"})
        reconnect = "/v1/calls/{call_id}/reconnect"
        await c.call("POST", f"/v1/calls/{call_id}/reconnect", reconnect, json={"token": routed["token"]})
        await c.call("POST", f"/v1/calls/{call_id}/reconnect", reconnect, json={"token": "forged.token.value"})
        await c.call("POST", "/v1/agents/reattach", json={"token": routed["token"]})  # a call token: refused
        await c.call("GET", "/v1/sites")
        await c.call("GET", "/v1/wallboard")
        await c.call("GET", "/healthz")
        login = await _login(http, site)
        await c.call("GET", "/v1/calls", headers={"Authorization": f"Bearer {login['token']}"})
        await c.call("GET", "/v1/calls")
        admin = await _login(http, site, "north-10")
        await c.call("GET", "/v1/audit", headers={"Authorization": f"Bearer {admin['token']}"})
        await c.call("GET", "/v1/audit", headers={"Authorization": f"Bearer {login['token']}"})  # a manager
        worker = {"Authorization": f"Bearer {login['token']}"}  # work orders and notifications (issue 17)
        await c.call("GET", "/v1/departments", headers=worker)
        await c.call("POST", "/v1/workorders", headers=worker,
                     json={"type": "repair", "priority": "normal", "department": "nowhere", "subject": "leak"})
        await c.call("GET", "/v1/workorders", headers=worker)
        await c.call("GET", "/v1/workorders")
        await c.call("GET", "/v1/workorders/WO-NOPE", "/v1/workorders/{id}", headers=worker)
        await c.call("GET", "/v1/notifications", params={"customer": "C0000001"}, headers=worker)

        s = Checker(http, site, site_doc)
        login = await s.call("POST", "/v1/agents/login", json={"agent_id": "north-01", "password": "demo"})
        await s.call("POST", "/v1/agents/login", json={"agent_id": "north-01", "password": "wrong"})
        bearer = {"Authorization": f"Bearer {login['token']}"}
        await s.call("GET", "/v1/status", headers=cluster.operator_headers())
        await s.call("GET", "/v1/status")
        await s.call("GET", "/v1/lockouts", headers=cluster.operator_headers())
        await s.call("DELETE", "/v1/lockouts/pin/C0000000", "/v1/lockouts/{kind}/{subject}",
                     headers=cluster.operator_headers())
        await s.call("DELETE", "/v1/lockouts/nope/x", "/v1/lockouts/{kind}/{subject}",
                     headers=cluster.operator_headers())
        await s.call("GET", "/v1/flows")
        await s.call("POST", "/v1/flows", json={"id": "x", "languages": ["en"], "start": "a", "nodes": []},
                     headers=bearer)
        await s.call("POST", "/v1/flows", json={"id": "x", "languages": ["en"], "start": "a", "nodes": []})
        await s.call("GET", "/healthz")
        await s.call("GET", "/v1/cdrs", headers=bearer)
        await s.call("GET", "/v1/cdrs", params={"limit": "0"}, headers=bearer)
        await s.call("GET", "/v1/audit", headers={"Authorization": f"Bearer {admin['token']}"})
        await s.call("GET", "/v1/audit", params={"cursor": "not-a-cursor"},
                     headers={"Authorization": f"Bearer {admin['token']}"})
        await s.call("GET", "/v1/audit", headers=bearer)  # a manager: refused
        await s.call("POST", "/v1/agents/logout", headers=bearer)
        await s.call("POST", "/v1/agents/logout", headers=bearer)  # revoked now
    assert len(c.checked) == 22 and len(s.checked) == 18
