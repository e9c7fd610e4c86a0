"""The calls' routing records in etcd, from the owning site's side.

The site writes a record at the moments failover needs (every field derived from the call by
:func:`site_node.call.record_view`), closes it when the call ends, watches for calls that
central moved away (we were paused or cut off) and for callers routed here who never join
(closed after ``site.join_timeout_s`` with a CDR: no call is silently lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from cluster.callrecords import CallRecord, OwnershipLost, RecordState, SiteCallStore
from cluster.clock import Clock
from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd, EventType, KeyValue
from cluster.keys import Keyspace
from cluster.logs import log
from cluster.tasks import TaskOwner
from site_node.call import Call, End, EndReason, call_from_record, record_view
from site_node.calls.live import CallBook, LiveCall

_log = logging.getLogger("site_node.calls.records")
REAP_RETRY_S = 1.0


class MovedCalls(Protocol):
    def drop_moved(self, call_id: str, to_site: str | None) -> None:
        """Central gave the call to another site: let it go here."""


class UnjoinedCdr(Protocol):
    async def write_unjoined(self, call: Call) -> None: ...


class RecordSync:
    def __init__(
        self,
        *,
        site: str,
        store: SiteCallStore,
        owner: TaskOwner,
        clock: Clock,
        book: CallBook,
        moved: MovedCalls,
        cdr: UnjoinedCdr,
        join_timeout_s: float,
        watch_retry_s: float,
    ) -> None:
        self._site = site
        self._store = store
        self._owner = owner
        self._clock = clock
        self._book = book
        self._moved = moved
        self._cdr = cdr
        self._join_timeout_s = join_timeout_s
        self._watch_retry_s = watch_retry_s
        self._unclaimed: dict[str, CallRecord] = {}

    async def claim(self, call_id: str) -> CallRecord:
        return await self._store.claim(call_id)

    # ---- the owner's writes --------------------------------------------------------------------
    def update(self, lc: LiveCall) -> None:
        """Write the record as the call is now (queued, offered, connected, held, ...)."""
        self._owner.spawn(self._update(lc, record_view(lc.call, self._clock.now())), f"record-{lc.call_id}")

    async def _update(self, lc: LiveCall, view: dict[str, Any]) -> None:
        async with lc.record_lock:
            if lc.call.is_ended:
                return
            try:
                lc.record = await self._store.update(lc.record, **view)
            except OwnershipLost:
                self._moved.drop_moved(lc.call_id, None)
            except EtcdUnavailable:
                log(_log, logging.ERROR, "routing record not updated: etcd unreachable", call_id=lc.call_id)

    async def close(self, lc: LiveCall) -> None:
        """The call ended here: delete its record (the moment that decides whose outcome counts).
        If central had moved it meanwhile, leave a tombstone or let the new owner's outcome count."""
        async with lc.record_lock:
            try:
                await self._store.finish(lc.record)
            except OwnershipLost:
                with contextlib.suppress(EtcdUnavailable):
                    if not await self._store.tombstone(lc.call_id):
                        lc.outcome_elsewhere = True  # the new owner's outcome counts
            except EtcdUnavailable:  # the CDR is written all the same: the outcome is not lost
                log(_log, logging.ERROR, "routing record not closed: etcd unreachable", call_id=lc.call_id)

    # ---- watching ------------------------------------------------------------------------------
    async def watch(self, etcd: Etcd, keys: Keyspace) -> None:
        """Let go of calls moved elsewhere; note calls routed here whose caller has not joined."""
        while True:
            try:
                kvs, revision = await etcd.get_prefix(keys.calls)
                for kv in kvs:
                    self.seen(CallRecord.from_kv(kv))
                async for event in etcd.watch_prefix(keys.calls, start_revision=revision + 1):
                    if event.type is EventType.DELETE:
                        self._forget(Keyspace.leaf(event.key))
                        continue
                    kv = KeyValue(event.key, event.value, event.create_revision, event.mod_revision, 0, 0)
                    self.seen(CallRecord.from_kv(kv))
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "call watch interrupted", reason=str(exc))
                await asyncio.sleep(self._watch_retry_s)

    def seen(self, record: CallRecord) -> None:
        if record.state == RecordState.ENDED:  # a tombstone: the call ended at the site that lost it
            self._forget(record.call_id)
            if record.site == self._site and record.call_id not in self._book:
                self._owner.spawn(self._store.remove_ended(record), f"clear-{record.call_id}")
            return
        if record.site != self._site:
            self._forget(record.call_id)
            if record.call_id in self._book:
                self._moved.drop_moved(record.call_id, record.site)
        elif record.call_id in self._book:
            self._forget(record.call_id)
        else:
            first_seen = record.call_id not in self._unclaimed
            self._unclaimed[record.call_id] = record
            if first_seen:
                self._owner.timer(f"reap:{record.call_id}", self._join_timeout_s, lambda: self._reap(record.call_id))

    def claimed(self, call_id: str) -> None:
        self._forget(call_id)

    def _forget(self, call_id: str) -> None:
        self._unclaimed.pop(call_id, None)
        self._owner.cancel_timer(f"reap:{call_id}")

    def _reap(self, call_id: str) -> None:
        record = self._unclaimed.pop(call_id, None)
        if record is not None and call_id not in self._book:
            self._owner.spawn(self._close_unjoined(record), f"reap-{call_id}")

    async def _close_unjoined(self, record: CallRecord) -> None:
        """A caller routed here who never joined (or never came back after a failover) still
        gets a CDR, and the routing record is removed: no call is silently lost."""
        now = self._clock.now()
        call = call_from_record(record, site=self._site, now=now)
        # moved here by a failover and the caller never came back: the failover lost it; routed
        # here and never joined (a client that gave up, or a flood of route requests): not a
        # call anyone was offered, and the KPIs leave it out (``central.stats.kpi``)
        call.apply(End(EndReason.ERROR if record.failovers else EndReason.NEVER_JOINED), now)
        try:
            await self._store.finish(record)
        except OwnershipLost:
            return
        except EtcdUnavailable:  # try again shortly
            self._unclaimed[record.call_id] = record
            self._owner.timer(f"reap:{record.call_id}", REAP_RETRY_S, lambda: self._reap(record.call_id))
            return
        await self._cdr.write_unjoined(call)
        log(_log, logging.WARNING, "caller never joined; call closed", call_id=record.call_id)
