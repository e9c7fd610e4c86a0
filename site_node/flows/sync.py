"""IVR flows are the same at every site (V3): each version is published cluster-wide in etcd.

    <prefix>/config/flows/<flow_id>/<version>  ->  {"document", "published_by", "published_at", "site"}

Publishing creates the version's key only if it is absent (one transaction), so two sites can
never both make version N of a flow: the later one answers ``409 flow.conflict`` and changes
nothing. Every site watches the prefix and applies, in order, the versions newer than its own:
validated, stored in its database, made the latest in its registry, audited. A site that was
down catches up when it starts. Calls in progress keep the version they started with.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from cluster.clock import SYSTEM_CLOCK
from cluster.errors import CallCenterError, EtcdUnavailable
from cluster.etcd import Etcd, EventType
from cluster.keys import Keyspace
from cluster.logs import log
from site_node.audit import AuditTrail
from site_node.ivr import FlowRegistry, parse_flow
from site_node.ivr.errors import IvrError
from site_node.storage import Storage

_log = logging.getLogger("site_node.flows")


class FlowConflict(CallCenterError):
    error_id = "flow.conflict"
    status = 409


class FlowsUnavailable(CallCenterError):
    error_id = "flow.unavailable"
    status = 503


class FlowCluster:
    """One site's view of the cluster's flows: publishes its own versions, applies the others'."""

    def __init__(
        self,
        storage_ref: Callable[[], Storage],
        registry: FlowRegistry,
        *,
        site: str,
        retry_s: float = 0.5,
        audit: AuditTrail | None = None,
    ) -> None:
        self._audit = audit or AuditTrail(storage_ref, SYSTEM_CLOCK)
        self._retry_s = retry_s
        self._etcd: Etcd | None = None
        self._keys = Keyspace()
        self._storage_ref = storage_ref
        self._registry = registry
        self.site = site
        self.lock = asyncio.Lock()  # a local publication and an applied one never interleave

    def connect(self, etcd: Etcd, keys: Keyspace) -> None:
        self._etcd, self._keys = etcd, keys

    @property
    def etcd(self) -> Etcd:
        if self._etcd is None:
            raise FlowsUnavailable("the site is not connected to etcd yet; nothing changed")
        return self._etcd

    async def claim(self, flow_id: str, version: int, document: Mapping[str, Any], *, editor: str, now: float) -> None:
        """Make ``version`` of ``flow_id`` the cluster's; raise if another site already did."""
        key = self._keys.flow(flow_id, version)
        body = json.dumps({"document": dict(document), "published_by": editor, "published_at": now, "site": self.site})
        etcd = self.etcd
        try:
            result = await etcd.txn([Etcd.absent(key)], [Etcd.op_put(key, body)], timeout=5.0)
        except EtcdUnavailable as exc:
            raise FlowsUnavailable(
                f"flows are published at every site through etcd, which is unreachable; nothing changed ({exc})"
            ) from exc
        if not result.succeeded:
            raise FlowConflict(
                f"version {version} of flow {flow_id!r} was just published by another site; "
                "nothing changed here: fetch the latest version and publish again",
                flow_id=flow_id,
                version=version,
            )

    async def sync(self) -> int:
        """Apply every flow version the cluster has and we lack; returns the etcd revision."""
        kvs, revision = await self.etcd.get_prefix(self._keys.flows)
        for flow_id in sorted({parsed[0] for kv in kvs if (parsed := self._keys.parse_flow(kv.key))}):
            await self.catch_up(flow_id)
        return revision

    async def run(self) -> None:
        """Catch up with the cluster, then follow it (reconnecting while etcd is away)."""
        while True:
            try:
                revision = await self.sync()
                async for event in self.etcd.watch_prefix(self._keys.flows, start_revision=revision + 1):
                    parsed = self._keys.parse_flow(event.key)
                    if event.type is EventType.PUT and parsed is not None:
                        await self.catch_up(parsed[0])
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "flow watch interrupted", reason=str(exc))
                await asyncio.sleep(self._retry_s)

    async def catch_up(self, flow_id: str) -> int:
        """Apply the cluster's versions of ``flow_id`` newer than ours, in order; stops at a gap
        or at a version that does not validate. Returns how many were applied."""
        kvs, _ = await self.etcd.get_prefix(self._keys.flow_versions(flow_id))
        published = {}
        for kv in kvs:
            parsed = self._keys.parse_flow(kv.key)
            if parsed is not None and parsed[0] == flow_id:
                published[parsed[1]] = kv.value
        applied = 0
        async with self.lock:
            while (version := max(self._registry.versions(flow_id), default=0) + 1) in published:
                if not await self._apply(flow_id, version, published[version]):
                    break
                applied += 1
        return applied

    async def _apply(self, flow_id: str, version: int, raw: bytes) -> bool:
        try:
            body = json.loads(raw)
            document = body["document"]
            parse_flow(document, version)
        except (ValueError, KeyError, TypeError, IvrError) as exc:
            log(
                _log,
                logging.ERROR,
                "cluster flow version refused; this site keeps its own",
                flow_id=flow_id,
                version=version,
                reason=str(exc),
            )
            return False
        storage = self._storage_ref()
        await storage.flows.save_flow(
            flow_id,
            document,
            published_at=float(body.get("published_at") or 0.0),
            published_by=str(body.get("published_by") or "?"),
        )
        self._registry.publish(document)
        await self._audit.record(
            at=float(body.get("published_at") or 0.0),
            actor=str(body.get("published_by")),
            action="apply_flow",
            target=flow_id,
            details={"version": version, "from_site": body.get("site")},
        )
        log(_log, logging.INFO, "flow version applied", flow_id=flow_id, version=version, from_site=body.get("site"))
        return True
