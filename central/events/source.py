"""The recorder: watches call records and site membership in etcd and the work orders' history
table, derives events (:mod:`central.events.derive`) and stores them. Every replica runs one;
ids are revision-based, so what two replicas both record is stored once, and what one replica
misses while it restarts the other records.

Call handling never waits for this: sites and the leader write etcd as before; the recorder is
a watcher, and webhook delivery reads the database (:mod:`central.events.webhooks`)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from central.events.derive import Event, SiteView, call_changed, call_ended, site_changed, workorder_event
from central.events.store import EventStore
from cluster.callrecords import CallRecord
from cluster.clock import Clock
from cluster.errors import CallCenterError
from cluster.etcd import Etcd, EventType, KeyValue
from cluster.keys import Keyspace
from cluster.logs import log
from cluster.tasks import cancel_and_wait

_log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, store: EventStore, clock: Clock, on_new: Callable[[], None], *, retry_s: float = 0.5,
                 workorder_poll_s: float = 1.0) -> None:  # fmt: skip
        self.store = store
        self.clock = clock
        self.on_new = on_new
        self.retry_s = retry_s
        self.workorder_poll_s = workorder_poll_s
        self._calls: dict[str, CallRecord] = {}
        self._sites = SiteView()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, etcd: Etcd | None, keys: Keyspace) -> None:
        self._tasks.append(asyncio.create_task(self._workorders(), name="events-workorders"))
        if etcd is not None:
            self._tasks.append(asyncio.create_task(self._watch_calls(etcd, keys), name="events-calls"))
            self._tasks.append(asyncio.create_task(self._watch_sites(etcd, keys), name="events-sites"))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _record(self, events: list[Event]) -> None:
        while True:  # the database is the log: retry until it takes them (the watch waits, not a call)
            try:
                if events and await self.store.append(events):
                    self.on_new()
                return
            except (CallCenterError, OSError) as exc:
                log(_log, logging.WARNING, "events not stored yet", reason=str(exc))
                await asyncio.sleep(self.retry_s)

    async def _watch_calls(self, etcd: Etcd, keys: Keyspace) -> None:
        while True:
            try:
                kvs, revision = await etcd.get_prefix(keys.calls)
                for kv in kvs:  # a call we have no event for in its current state: catch up
                    record = CallRecord.from_kv(kv)
                    last = await self.store.last_of_call(record.call_id)
                    if last is None or last.type != f"call.{record.state.value}" or last.site != record.site:
                        event = call_changed(None, record, self.clock.now())
                        await self._record([event] if event else [])
                    self._calls[record.call_id] = record
                async for change in etcd.watch_prefix(keys.calls, start_revision=revision + 1):
                    call_id = Keyspace.leaf(change.key)
                    now = self.clock.now()
                    if change.type is EventType.DELETE:
                        await self._record(
                            [call_ended(self._calls.pop(call_id, None), call_id, change.mod_revision, now)]
                        )
                        continue
                    kv = KeyValue(change.key, change.value, change.create_revision, change.mod_revision, 0, 0)
                    record = CallRecord.from_kv(kv)
                    event = call_changed(self._calls.get(call_id), record, now)
                    self._calls[call_id] = record
                    await self._record([event] if event else [])
            except CallCenterError as exc:
                log(_log, logging.WARNING, "event call watch interrupted", reason=str(exc))
                await asyncio.sleep(self.retry_s)

    async def _watch_sites(self, etcd: Etcd, keys: Keyspace) -> None:
        while True:
            try:
                kvs, revision = await etcd.get_prefix(keys.sites)
                for kv in kvs:  # the baseline, silent: another replica recorded how it came to be
                    site_changed(self._sites, Keyspace.leaf(kv.key), json.loads(kv.value), kv.mod_revision, 0.0)
                async for change in etcd.watch_prefix(keys.sites, start_revision=revision + 1):
                    info = None if change.type is EventType.DELETE else json.loads(change.value)
                    await self._record(site_changed(self._sites, Keyspace.leaf(change.key), info,
                                                    change.mod_revision, self.clock.now()))  # fmt: skip
            except CallCenterError as exc:
                log(_log, logging.WARNING, "event site watch interrupted", reason=str(exc))
                await asyncio.sleep(self.retry_s)

    async def _workorders(self) -> None:
        after = await self.store.last_workorder_entry()
        while True:
            try:
                entries = await self.store.workorder_entries(after, 200)
                if entries:
                    await self._record([workorder_event(row, order, self.clock.now()) for row, order in entries])
                    after = int(entries[-1][0]["id"])
                    continue
            except CallCenterError as exc:
                log(_log, logging.WARNING, "work-order events not read", reason=str(exc))
            await asyncio.sleep(self.workorder_poll_s)
