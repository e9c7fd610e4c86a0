"""A hot copy of the cluster's routing state, kept by every central replica from etcd watches.

Followers answer look-ups from it and can take over routing the moment they win the election;
the leader makes its decisions from it. It holds the live sites (membership, with the last
load summary each published) and the routing records of live calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from central.routing.selection import SiteSnapshot
from cluster.callrecords import CallRecord
from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd, EventType, KeyValue
from cluster.keys import Keyspace
from cluster.logs import log
from cluster.tasks import cancel_and_wait

_log = logging.getLogger(__name__)

SiteLeft = Callable[[str, dict[str, Any]], Awaitable[None]]


class Changes:
    """A pulse on every change of the hot copy, for requests that wait for one (a move)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def pulse(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout_s: float) -> None:
        """Until the next change or ``timeout_s``; check your condition before calling (the
        event is taken synchronously, so a change after that check is never missed)."""
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout_s)):
                await event.wait()


class ClusterState:
    def __init__(self, etcd: Etcd, keys: Keyspace, *, watch_retry_s: float = 0.5) -> None:
        self._etcd = etcd
        self._keys = keys
        self._watch_retry_s = watch_retry_s  # central.timers.watch_retry_s
        self.sites: dict[str, dict[str, Any]] = {}
        self.departed: dict[str, dict[str, Any]] = {}  # last info of sites that left
        # create revision of each live site's membership key: which registration a death
        # confirmation is about (a site that registered again is another registration)
        self.registrations: dict[str, int] = {}
        self.changes = Changes()
        self.calls: dict[str, CallRecord] = {}
        self._snapshots: list[SiteSnapshot] | None = None
        self.synced = asyncio.Event()
        self._sites_synced = asyncio.Event()
        self._calls_synced = asyncio.Event()
        self._on_site_left: list[SiteLeft] = []
        self._on_call: list[Callable[[CallRecord], None]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def on_site_left(self, callback: SiteLeft) -> None:
        self._on_site_left.append(callback)

    def on_call(self, callback: Callable[[CallRecord], None]) -> None:
        """``callback`` sees every call record written (after this state has it)."""
        self._on_call.append(callback)

    def snapshots(self) -> list[SiteSnapshot]:
        """Site snapshots for selection, rebuilt only when a site's published info changed."""
        if self._snapshots is None:
            self._snapshots = [SiteSnapshot.from_membership(name, info) for name, info in self.sites.items()]
        return self._snapshots

    def calls_at(self, site: str) -> list[CallRecord]:
        return sorted((c for c in self.calls.values() if c.site == site), key=lambda c: c.queue_order)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch_sites(), name="state-sites"),
            asyncio.create_task(self._watch_calls(), name="state-calls"),
        ]
        await asyncio.wait_for(self._sync_both(), 30)

    async def _sync_both(self) -> None:
        await self._sites_synced.wait()
        await self._calls_synced.wait()
        self.synced.set()

    async def _watch_sites(self) -> None:
        while True:
            try:
                kvs, revision = await self._etcd.get_prefix(self._keys.sites)
                current = {Keyspace.leaf(kv.key): json.loads(kv.value) for kv in kvs}
                for gone in set(self.sites) - set(current):  # left while we were not watching
                    await self._site_left(gone)
                self.sites = current
                self.registrations = {Keyspace.leaf(kv.key): kv.create_revision for kv in kvs}
                self._snapshots = None
                self._sites_synced.set()
                self.changes.pulse()
                async for event in self._etcd.watch_prefix(self._keys.sites, start_revision=revision + 1):
                    name = Keyspace.leaf(event.key)
                    if event.type is EventType.DELETE:
                        await self._site_left(name)
                    else:
                        self.sites[name] = json.loads(event.value)
                        self.registrations[name] = event.create_revision
                        self._snapshots = None
                        self.departed.pop(name, None)
                        self.changes.pulse()
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "site watch interrupted", reason=str(exc))
                await asyncio.sleep(self._watch_retry_s)

    async def _site_left(self, name: str) -> None:
        if name not in self.sites:
            return  # already gone (our own confirmation, then the watch): keep its last info
        info = self.sites.pop(name, {})
        self.registrations.pop(name, None)
        self.changes.pulse()
        self._snapshots = None
        self.departed[name] = info
        log(_log, logging.WARNING, "site left", site=name)
        for callback in self._on_site_left:
            try:
                await callback(name, info)
            except Exception:
                log(_log, logging.ERROR, "site-left handler failed", site=name, exc_info=True)

    async def _watch_calls(self) -> None:
        while True:
            try:
                kvs, revision = await self._etcd.get_prefix(self._keys.calls)
                self.calls = {Keyspace.leaf(kv.key): CallRecord.from_kv(kv) for kv in kvs}
                self._calls_synced.set()
                async for event in self._etcd.watch_prefix(self._keys.calls, start_revision=revision + 1):
                    call_id = Keyspace.leaf(event.key)
                    if event.type is EventType.DELETE:
                        self.calls.pop(call_id, None)
                    else:
                        kv = KeyValue(event.key, event.value, event.create_revision, event.mod_revision, 0, 0)
                        record = self.calls[call_id] = CallRecord.from_kv(kv)
                        for callback in self._on_call:
                            callback(record)
                    self.changes.pulse()
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "call watch interrupted", reason=str(exc))
                await asyncio.sleep(self._watch_retry_s)

    def apply_local(self, record: CallRecord) -> None:
        """Reflect our own committed write at once (the watch will confirm it)."""
        current = self.calls.get(record.call_id)
        if current is None or current.mod_revision <= record.mod_revision:
            self.calls[record.call_id] = record
            self.changes.pulse()

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
