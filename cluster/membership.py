"""Site membership: a site registers under its session's lease; others watch.

A registered site publishes its address, skills and a load summary (ready agents per skill,
queue depth, expected wait). Load updates are coalesced and written at most once per
``publish_interval_s`` (about once a second), so etcd sees a handful of writes per site per
second whatever the call rate. A site that dies disappears when its lease expires (TTL + up
to ~0.5 s); a site that stops cleanly revokes its lease and disappears at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cluster.etcd import Etcd, EventType, Session
from cluster.keys import Keyspace
from cluster.logs import log

_log = logging.getLogger(__name__)


class MemberChange(Enum):
    JOINED = "joined"
    CHANGED = "changed"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class MemberEvent:
    change: MemberChange
    name: str
    info: dict[str, Any]
    revision: int


class Registration:
    """A site's own membership entry; owns the task that publishes load updates."""

    def __init__(
        self, etcd: Etcd, session: Session, key: str, info: dict[str, Any], publish_interval_s: float
    ) -> None:
        self._etcd = etcd
        self._session = session
        self._key = key
        self._info = dict(info)
        self._interval = publish_interval_s
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.writes = 0

    @property
    def info(self) -> dict[str, Any]:
        return dict(self._info)

    async def start(self) -> None:
        await self._write()
        self._task = asyncio.create_task(self._publisher(), name=f"membership-{self._key}")

    async def _write(self) -> None:
        await self._etcd.put(self._key, json.dumps(self._info, sort_keys=True), lease=self._session.lease_id)
        self.writes += 1

    def update(self, **fields: Any) -> None:
        """Merge ``fields`` into the published info; written within one publish interval."""
        changed = any(self._info.get(k) != v for k, v in fields.items())
        self._info.update(fields)
        if changed:
            self._dirty.set()

    async def _publisher(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._write()
            except Exception as exc:  # keep publishing; the lease decides liveness
                log(_log, logging.WARNING, "membership update failed", key=self._key, reason=str(exc))
                self._dirty.set()
            await asyncio.sleep(self._interval)

    async def stop(self, *, leave: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if leave:
            with contextlib.suppress(Exception):
                await self._etcd.delete(self._key)


class Membership:
    def __init__(self, etcd: Etcd, keyspace: Keyspace) -> None:
        self._etcd = etcd
        self._keys = keyspace

    async def register(
        self, session: Session, name: str, info: dict[str, Any], *, publish_interval_s: float = 1.0
    ) -> Registration:
        registration = Registration(
            self._etcd, session, self._keys.site(name), {"name": name, **info}, publish_interval_s
        )
        await registration.start()
        log(_log, logging.INFO, "site registered", site=name, lease=hex(session.lease_id))
        return registration

    async def members(self) -> dict[str, dict[str, Any]]:
        kvs, _ = await self._etcd.get_prefix(self._keys.sites)
        return {Keyspace.leaf(kv.key): json.loads(kv.value) for kv in kvs}

    async def watch(self) -> AsyncIterator[MemberEvent]:
        """Current members as JOINED events, then every join, change and leave."""
        kvs, revision = await self._etcd.get_prefix(self._keys.sites)
        known: set[str] = set()
        for kv in kvs:
            name = Keyspace.leaf(kv.key)
            known.add(name)
            yield MemberEvent(MemberChange.JOINED, name, json.loads(kv.value), kv.mod_revision)
        async for event in self._etcd.watch_prefix(self._keys.sites, start_revision=revision + 1):
            name = Keyspace.leaf(event.key)
            if event.type is EventType.DELETE:
                known.discard(name)
                yield MemberEvent(MemberChange.LEFT, name, {}, event.mod_revision)
                continue
            change = MemberChange.CHANGED if name in known else MemberChange.JOINED
            known.add(name)
            yield MemberEvent(change, name, json.loads(event.value), event.mod_revision)
