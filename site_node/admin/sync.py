"""Administered objects (agents, queues, codes), published at central, applied at every site.

    <prefix>/config/admin/<kind>/<id>  ->  {"version", "document", "by", "at"}

A site first seeds etcd with what its database has (an object's key is created only if absent,
version 1), then follows the prefix: every object's version newer than the one it applied is
applied (in version order: a late site applies the latest), stored in its database so the next
login sees it, given to the live desk and ACD (the next offer uses it), and audited with the
administrator's name. The not-ready and wrap-up code lists are served to desktops at
``GET /v1/codes``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from cluster.errors import CallCenterError, EtcdUnavailable
from cluster.etcd import Etcd, EventType
from cluster.keys import Keyspace
from cluster.logs import log
from site_node.acd import Acd, AcdError, QueueConfig
from site_node.audit import AuditTrail
from site_node.runtime.queues import queue_config
from site_node.storage import Storage

_log = logging.getLogger("site_node.admin")

DEFAULT_CODES: Mapping[str, tuple[str, ...]] = {
    "not_ready": ("break", "lunch", "meeting", "training", "admin"),
    "wrap_up": ("resolved", "follow_up", "transferred", "complaint", "no_action"),
}
"""The codes the desktop offered before they were administered (the seed of ``codes/*``)."""


class Desk(Protocol):
    def reconfigure(self, agent_id: str, skills: dict[str, int], team: str | None, active: bool) -> bool: ...


class AdminSync:
    def __init__(
        self,
        storage: Callable[[], Storage],
        desk: Callable[[], Desk],
        acd: Callable[[], Acd],
        queue_changed: Callable[[QueueConfig], None],
        audit: AuditTrail,
        *,
        site: str,
        retry_s: float = 0.5,
    ) -> None:
        self._storage, self._desk, self._acd, self._queue_changed = storage, desk, acd, queue_changed
        self._audit = audit
        self.site = site
        self._retry_s = retry_s
        self._etcd: Etcd | None = None
        self._keys = Keyspace()
        self.applied: dict[tuple[str, str], int] = {}
        self.codes: dict[str, list[str]] = {name: list(codes) for name, codes in DEFAULT_CODES.items()}

    def connect(self, etcd: Etcd, keys: Keyspace) -> None:
        self._etcd, self._keys = etcd, keys

    @property
    def etcd(self) -> Etcd:
        if self._etcd is None:
            raise CallCenterError("not connected to etcd", error_id="admin.unavailable", status=503)
        return self._etcd

    def install(self, app: web.Application, guard: Any) -> None:
        app.router.add_get("/v1/codes", guard(self.http_codes))

    async def http_codes(self, _: web.Request) -> web.Response:
        """The code lists a desktop offers, and the versions of what this site has applied."""
        versions = {f"{kind}/{oid}": v for (kind, oid), v in sorted(self.applied.items())}
        return web.json_response({"codes": self.codes, "applied": versions})

    # ---- seeding and following ---------------------------------------------------------------
    async def seed(self, *, now: float) -> None:
        """Publish what this site's database has, where the cluster has nothing yet (version 1)."""
        directory = self._storage().directory
        objects: list[tuple[str, str, dict[str, Any]]] = [("skills", name, {}) for name in await directory.skills()]
        objects += [("agents", a.id, {"skills": dict(a.skills), "team": a.team, "active": a.active})
                    for a in await directory.agents()]  # fmt: skip
        objects += [("queues", q.name, {"skill": q.skill, "min_level": q.min_level,
                                        "sl_threshold_s": q.service_level_s})
                    for q in await directory.queues()]  # fmt: skip
        objects += [("codes", name, {"codes": list(codes)}) for name, codes in DEFAULT_CODES.items()]
        for kind, object_id, document in objects:
            key = self._keys.admin_object(kind, object_id)
            body = json.dumps({"version": 1, "document": document, "by": f"site:{self.site}", "at": now})
            await self.etcd.txn([Etcd.absent(key)], [Etcd.op_put(key, body)], timeout=5.0)

    async def sync(self) -> int:
        kvs, revision = await self.etcd.get_prefix(self._keys.admin)
        for kv in sorted(kvs, key=lambda kv: kv.mod_revision):  # the order they were published in
            await self._maybe_apply(kv.key, kv.value)
        return revision

    async def run(self) -> None:
        """Catch up with the cluster, then follow it (reconnecting while etcd is away)."""
        while True:
            try:
                revision = await self.sync()
                async for event in self.etcd.watch_prefix(self._keys.admin, start_revision=revision + 1):
                    if event.type is EventType.PUT:
                        await self._maybe_apply(event.key, event.value)
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "admin watch interrupted", reason=str(exc))
                await asyncio.sleep(self._retry_s)

    async def _maybe_apply(self, key: str, raw: bytes) -> None:
        parsed = self._keys.parse_admin(key)
        if parsed is None:
            return
        try:
            body = json.loads(raw)
            version, document = int(body["version"]), dict(body["document"])
        except (ValueError, KeyError, TypeError) as exc:
            log(_log, logging.ERROR, "admin object unreadable; kept the applied one", key=key, reason=str(exc))
            return
        if version <= self.applied.get(parsed, 0):
            return  # already applied (or older than what this site has)
        try:
            await self._apply(*parsed, document)
        except (AcdError, CallCenterError, ValueError, KeyError, TypeError) as exc:
            log(_log, logging.ERROR, "admin change refused at this site", key=key, version=version, reason=str(exc))
            return
        self.applied[parsed] = version
        if not str(body.get("by", "")).startswith("site:"):  # a site's seed is not an administrator's change
            await self._audit.record(at=float(body.get("at") or 0.0), actor=str(body.get("by") or "?"),
                                     action="admin_applied", target=f"{parsed[0]}/{parsed[1]}",
                                     details={"version": version, **document})  # fmt: skip
        log(_log, logging.INFO, "admin change applied", kind=parsed[0], id=parsed[1], version=version)

    async def _apply(self, kind: str, object_id: str, document: dict[str, Any]) -> None:
        directory = self._storage().directory
        if kind == "codes":
            self.codes[object_id] = [str(code) for code in document["codes"]]
        elif kind == "agents":
            skills = {str(s): int(lv) for s, lv in dict(document["skills"]).items()}
            team, active = document.get("team"), bool(document.get("active", True))
            stored = await directory.agent(object_id)
            if stored is not None and (stored.skills, stored.team, stored.active) != (skills, team, active):
                # the next login here gets the new skills (and an inactive agent cannot log in)
                await directory.save_agent(dataclasses.replace(stored, skills=skills, team=team, active=active))
            self._desk().reconfigure(object_id, skills, team, active)
        elif kind == "queues":
            stored_queue = await directory.queue(object_id)
            if stored_queue is None:
                return  # not a queue of this site
            view = dataclasses.replace(stored_queue, skill=str(document["skill"]), min_level=int(document["min_level"]),
                                       service_level_s=float(document["sl_threshold_s"]))  # fmt: skip
            config = queue_config(view)
            self._acd().reconfigure_queue(config)  # validated with the others first: raises, nothing stored
            await directory.save_queue(view)
            self._queue_changed(config)
