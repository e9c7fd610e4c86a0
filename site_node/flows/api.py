"""IVR flows as versioned data, edited without a restart (V3).

The site database is the source of the versions: at start the demo flows are stored if the
database has none, and every stored version is loaded into the registry in order. A manager
or administrator publishes a new version with ``POST /v1/flows`` (their agent token as a
bearer token): the document is validated first (errors name the node), claimed cluster-wide
(:mod:`site_node.flows.sync`: every site applies it), stored, then made the latest
version. New calls use it at once; calls in progress keep the version they started with. Every
publication is written to the audit log.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from cluster.errors import BadRequest
from cluster.http import read_json
from cluster.tokens import Claims, TokenSigner, bearer_claims
from site_node.audit import AuditTrail
from site_node.flows.audio import check_flow_audio
from site_node.flows.sync import FlowCluster
from site_node.ivr import FLOWS_DIR, FlowRegistry, parse_flow, parse_text
from site_node.storage import Storage


async def load_flows(storage: Storage, registry: FlowRegistry, *, now: float) -> None:
    """Store the demo flows in an empty database, then load every stored version in order."""
    stored = await storage.flows.latest_versions()
    if not stored:
        for flow_id in registry.flow_ids():
            for version in registry.versions(flow_id):
                await storage.flows.save_flow(
                    flow_id, registry.get(flow_id, version).source, published_at=now, published_by="demo"
                )
        return
    for flow_id in sorted(stored):
        have = registry.versions(flow_id)
        for version in await storage.flows.flow_versions(flow_id):
            if version in have:
                continue
            document = (await storage.flows.load_flow(flow_id, version)).document
            registry.publish(document)


class FlowsApi:
    """``cluster``: publish each version cluster-wide first (see :mod:`flow_sync`); ``None``
    keeps versions to this site (a site without etcd, unit tests)."""

    def __init__(
        self,
        storage_ref: Any,
        registry: FlowRegistry,
        signer: TokenSigner,
        clock: Any,
        cluster: FlowCluster | None = None,
        *,
        prompts_dir: Path | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self._audit = audit or AuditTrail(storage_ref, clock)
        self._prompts_dir = prompts_dir  # recorded prompts a flow may name (checked on publish)
        self._storage_ref = storage_ref
        self._registry = registry
        self._signer = signer
        self._clock = clock
        self._cluster = cluster
        self._lock = cluster.lock if cluster is not None else asyncio.Lock()

    def install(self, app: web.Application, guard: Any) -> None:
        app.router.add_get("/v1/flows", guard(self.list_flows))
        app.router.add_post("/v1/flows", guard(self.publish))

    def _editor(self, request: web.Request) -> Claims:
        return bearer_claims(self._signer, request.headers.get("Authorization", ""), action="flows.publish",
                             why="only managers and administrators publish flows")

    async def list_flows(self, _: web.Request) -> web.Response:
        registry = self._registry
        return web.json_response(
            {
                "flows": {flow_id: registry.versions(flow_id) for flow_id in registry.flow_ids()},
                "routes": registry.routes(),
            }
        )

    async def publish(self, request: web.Request) -> web.Response:
        claims = self._editor(request)
        editor = claims.subject
        if request.content_type in ("application/yaml", "text/yaml", "application/x-yaml"):
            raw_text = (await request.read()).decode("utf-8", errors="replace")
            try:
                document = parse_text(raw_text, fmt="yaml")
            except yaml.YAMLError as exc:
                raise BadRequest(f"flow is not valid YAML: {exc}", error_id="ivr.invalid_flow") from exc
        else:
            document = await read_json(request, max_bytes=256 * 1024)
        flow_id = str(document.get("id", ""))
        async with self._lock:
            version = (max(self._registry.versions(flow_id), default=0)) + 1
            parsed = parse_flow(document, version)  # validate: raises ivr.invalid_flow naming the node
            if self._prompts_dir is not None:  # every recorded prompt exists and decodes
                await asyncio.to_thread(check_flow_audio, parsed, self._prompts_dir)
            storage: Storage = self._storage_ref()
            now = self._clock.now()
            if self._cluster is not None:  # conflict or etcd away: raises, nothing changed
                await self._cluster.claim(flow_id, version, document, editor=editor, now=now)
            stored = await storage.flows.save_flow(flow_id, document, published_at=now, published_by=editor)
            flow = self._registry.publish(document)
        await self._audit.record(at=now, actor=editor, role=str(claims.extra.get("role", "")),
                                 action="flow_published", target=flow_id, details={"version": flow.version})
        return web.json_response(
            {"flow_id": flow.id, "version": flow.version, "stored_version": getattr(stored, "version", flow.version)},
            status=201,
        )


def flow_document(text: str) -> dict[str, Any]:
    """A flow file's text (YAML or JSON) as a document (used by tools and tests)."""
    stripped = text.lstrip()
    return json.loads(text) if stripped.startswith("{") else parse_text(text, fmt="yaml")


__all__ = ["FLOWS_DIR", "FlowsApi", "flow_document", "load_flows"]
