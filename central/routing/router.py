"""The leader's decisions: route new calls, move the calls of a dead site, overflow.

Every write is a fenced transaction (:meth:`cluster.election.Election.fenced_txn`): it holds
only while this replica still leads, so a leader that wakes late cannot route or move a call.
Failover work is queued to one owned task, so a burst of departures is handled in order and a
new leader re-checks every call on taking over (sites that died while nobody led).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import Counter, Histogram

from central.routing.classify import Classification, Classifier
from central.routing.overflow import select_overflow
from central.routing.selection import NoSiteAvailable, SiteSnapshot, Strategy, select_site
from central.state import ClusterState
from cluster.callrecords import CallRecord, NumberSource, RecordState
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.election import Election
from cluster.errors import CallCenterError, NotLeader
from cluster.etcd import Etcd, kv_from_proto
from cluster.keys import Keyspace
from cluster.logs import log
from cluster.tasks import cancel_and_wait

_log = logging.getLogger(__name__)

ROUTED = Counter("cc_calls_routed_total", "calls routed by this leader", ["site"])
MOVED = Counter("cc_calls_moved_total", "calls moved to another site", ["reason"])
DEATHS = Counter("cc_site_deaths_confirmed_total", "site deaths confirmed by probe before the lease expired")
OVERFLOW_EVERY_S = 1.0  # how often the leader looks for calls to overflow to another site
FAILOVER_RETRY_S = 0.5  # pause before retrying a site's failover that failed (e.g. etcd hiccup)
MOVE_BATCH = 32  # calls moved per fenced transaction in a failover (etcd allows 128 ops per txn)

ROUTE_LATENCY = Histogram(
    "cc_route_seconds",
    "route decision including the fenced etcd write",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5),
)


@dataclass(frozen=True, slots=True)
class Routed:
    record: CallRecord
    site: SiteSnapshot


class Router:
    def __init__(
        self,
        etcd: Etcd,
        keys: Keyspace,
        state: ClusterState,
        classifier: Classifier,
        *,
        name: str,
        strategy: Strategy = "least_wait",
        overflow_after_s: dict[str, float] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        overflow_every_s: float = OVERFLOW_EVERY_S,
        failover_retry_s: float = FAILOVER_RETRY_S,
        lease_ttl_s: float = 2.0,
        move_batch: int = MOVE_BATCH,
    ) -> None:
        self._etcd = etcd
        self._keys = keys
        self.state = state
        self.classifier = classifier
        self.name = name
        self.strategy: Strategy = strategy
        self.overflow_after_s = dict(overflow_after_s or {})  # per skill; off unless configured
        self._clock = clock
        self.overflow_every_s = overflow_every_s
        self.failover_retry_s = failover_retry_s
        # A dead site's lease ends one TTL after its last keep-alive (sent every TTL/3): the
        # calls it held were lost about a TTL before central sees the lease end.
        self.lease_ttl_s = lease_ttl_s
        self.move_batch = max(1, move_batch)
        self.election: Election | None = None
        self._work: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._transfers: asyncio.Queue[CallRecord] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._lost_at: dict[str, float] = {}  # sites whose death we confirmed: when clients lost them
        state.on_site_left(self._site_left)
        state.on_call(self._call_written)

    # --- leadership ---------------------------------------------------------------------------
    async def lead(self, election: Election) -> None:
        """Called when this replica wins: reconcile, then start the leader's tasks."""
        self.election = election
        await self.state.synced.wait()
        self._tasks = [
            asyncio.create_task(self._failover_worker(), name="router-failover"),
            asyncio.create_task(self._overflow_loop(), name="router-overflow"),
            asyncio.create_task(self._transfer_worker(), name="router-transfers"),
        ]
        for record in self.state.calls.values():  # asked for while nobody led
            self._call_written(record)
        for site in {c.site for c in self.state.calls.values()} - set(self.state.sites):
            await self._work.put((site, self.state.departed.get(site, {})))

    async def step_down(self) -> None:
        self.election = None
        await cancel_and_wait(self._tasks)
        self._tasks = []

    @property
    def leading(self) -> bool:
        return self.election is not None

    def _fence(self) -> Election:
        if self.election is None:
            raise NotLeader("this replica does not lead; ask the leader")
        return self.election

    # --- routing ------------------------------------------------------------------------------
    async def route(
        self,
        caller: str,
        dialled: str,
        *,
        segment: str | None = None,
        home_site: str | None = None,
        customer_id: str | None = None,
        call_id: str | None = None,
        number_source: NumberSource = NumberSource.ASSERTED,
    ) -> Routed:
        started = time.perf_counter()
        election = self._fence()
        cls: Classification = self.classifier.classify(
            dialled, segment=segment, home_site=home_site, customer_id=customer_id
        )
        snapshots = {s.name: s for s in self.state.snapshots()}
        choice = select_site(snapshots.values(), cls.skill, strategy=self.strategy, home_site=home_site)
        record = CallRecord(
            call_id=call_id or uuid.uuid4().hex,
            site=choice.site,
            state=RecordState.ROUTED,
            skill=cls.skill,
            priority=cls.priority,
            original_arrival_at=self._clock.now(),
            caller=caller,
            dialled=dialled,
            number_source=number_source,
            service=cls.service,
            customer_id=customer_id,
            segment=segment,
            home_site=home_site,
            fencing_token=election.fencing_token,
            routed_by=self.name,
            sites=(choice.site,),
        )
        key = self._keys.call(record.call_id)
        result = await election.fenced_txn(
            [Etcd.absent(key)], [Etcd.op_put(key, record.to_json())], failure=[Etcd.op_get(key)]
        )
        if not result.succeeded:
            # An idempotent retry (same request id, same caller): answer with the first routing.
            kvs = result.responses[0].response_range.kvs if result.responses else []
            existing = CallRecord.from_kv(kv_from_proto(kvs[0])) if kvs else None
            if existing is None or (existing.caller, existing.dialled) != (caller, dialled):
                raise CallCenterError(
                    f"call id {record.call_id} was already routed", error_id="route.duplicate", status=409
                )
            return Routed(existing, snapshots.get(existing.site, snapshots[choice.site]))
        record = replace(record, mod_revision=result.revision)
        self.state.apply_local(record)
        ROUTED.labels(choice.site).inc()
        ROUTE_LATENCY.observe(time.perf_counter() - started)
        return Routed(record, snapshots[choice.site])

    # --- failover -----------------------------------------------------------------------------
    async def _site_left(self, site: str, info: dict[str, Any]) -> None:
        if self.leading:
            await self._work.put((site, info))

    async def _failover_worker(self) -> None:
        while True:
            site, info = await self._work.get()
            if site in self.state.sites:
                continue  # it came back before we got to it: its calls are still its own
            try:
                moved = await self.fail_over(site, info)
                self._lost_at.pop(site, None)
                log(_log, logging.WARNING, "site failed over", site=site, calls=moved)
            except NotLeader:
                return
            except Exception:
                log(_log, logging.ERROR, "failover failed; retrying", site=site, exc_info=True)
                await asyncio.sleep(self.failover_retry_s)
                await self._work.put((site, info))

    async def confirm_dead(self, site: str, registration: int, *, lost_at: float, evidence: str) -> bool:
        """End the membership ``registration`` of ``site`` now, in a fenced transaction, because
        its process is known gone (``evidence``); the site watch then fails it over as if its
        lease had expired. False if the registration is already gone or was replaced (the site
        came back), so a site that restarted is never removed by a stale confirmation."""
        election = self._fence()
        key = self._keys.site(site)
        current = await self._etcd.get(key)
        if current is None or current.create_revision != registration:
            return False
        now = self._clock.now()
        death = {
            "site": site, "registration": registration, "lease": current.lease, "lost_at": lost_at,
            "confirmed_at": now, "evidence": evidence, "by": self.name, "fencing_token": election.fencing_token,
        }
        self._lost_at[site] = lost_at  # before the delete: the failover it triggers reads it
        result = await election.fenced_txn(
            [Etcd.create_revision_is(key, registration)],
            [Etcd.op_delete(key), Etcd.op_put(self._keys.death(site), json.dumps(death, sort_keys=True))],
        )
        if not result.succeeded:
            self._lost_at.pop(site, None)
            return False
        DEATHS.inc()
        log(_log, logging.WARNING, "site death confirmed; failing over before its lease expires",
            site=site, evidence=evidence, revision=result.revision, lost_ms=round((now - lost_at) * 1000, 1))
        if current.lease:
            try:  # the dead process's other leased keys go too (best effort: they expire anyway)
                await self._etcd.revoke(current.lease)
            except Exception as exc:
                log(_log, logging.INFO, "lease of a dead site not revoked", site=site, reason=str(exc))
        return True

    def _target_for(self, record: CallRecord, dead: str, info: dict[str, Any]) -> str:
        snapshots = self.state.snapshots()
        alive = {s.name for s in snapshots}
        backups = [b for b in info.get("backup_sites", []) if b in alive and b != dead]
        if record.agent_id and backups:
            return backups[0]  # talking: go where the agent re-attaches
        with contextlib.suppress(NoSiteAvailable):
            if backups:
                backup = next(s for s in snapshots if s.name == backups[0])
                if record.skill in backup.skills:
                    return backup.name
            return select_site(snapshots, record.skill, strategy=self.strategy, exclude=(dead,)).site
        if backups:
            return backups[0]
        raise NoSiteAvailable(f"no site can take call {record.call_id}", call_id=record.call_id)

    async def fail_over(self, dead: str, info: dict[str, Any]) -> int:
        """Move every live call of ``dead`` to a surviving site, in serve order: in batches of
        one fenced transaction each (a batch in which any record changed meanwhile is done call
        by call, so one late write never holds the others back)."""
        # a confirmed death: the calls were lost when clients saw it; else about a TTL ago
        lost_at = self._lost_at.get(dead)
        live: list[tuple[CallRecord, str]] = []
        for record in self.state.calls_at(dead):
            if record.state == "ended":
                election = self._fence()
                key = self._keys.call(record.call_id)
                await election.fenced_txn([Etcd.mod_revision_is(key, record.mod_revision)], [Etcd.op_delete(key)])
                continue
            live.append((record, self._target_for(record, dead, info)))
        moved = 0
        for start in range(0, len(live), self.move_batch):
            batch = live[start : start + self.move_batch]
            if await self._move_batch(batch, lost_at):
                moved += len(batch)
                continue
            for record, target in batch:  # someone wrote one of them meanwhile: read each afresh
                kv = await self._etcd.get(self._keys.call(record.call_id))
                current = None if kv is None else CallRecord.from_kv(kv)
                if current is None or current.site != dead or current.state == "ended":
                    continue  # gone, moved or ended meanwhile: nothing to move
                if await self.move(current, target, reason="failover", lost_at=lost_at):
                    moved += 1
        return moved

    def _moved(self, record: CallRecord, target: str, election: Election, *, reason: str,
               lost_at: float | None) -> CallRecord:
        now = self._clock.now()
        if lost_at is None and reason == "failover":
            lost_at = now - self.lease_ttl_s
        return record.moved_to(
            target,
            fencing_token=election.fencing_token,
            routed_by=self.name,
            failover=reason != "transfer",
            at=now,
            lost_at=lost_at if reason == "failover" else None,
        )

    async def _move_batch(self, batch: list[tuple[CallRecord, str]], lost_at: float | None) -> bool:
        """All of ``batch`` moved in one fenced transaction, or none (False)."""
        if len(batch) < 2:
            return False
        election = self._fence()
        news = [self._moved(record, target, election, reason="failover", lost_at=lost_at) for record, target in batch]
        keys = [self._keys.call(record.call_id) for record, _ in batch]
        result = await election.fenced_txn(
            [Etcd.mod_revision_is(key, record.mod_revision) for key, (record, _) in zip(keys, batch, strict=True)],
            [Etcd.op_put(key, new.to_json()) for key, new in zip(keys, news, strict=True)],
        )
        if not result.succeeded:
            return False
        for new in news:
            self.state.apply_local(replace(new, mod_revision=result.revision))
        MOVED.labels("failover").inc(len(news))
        return True

    async def move(self, record: CallRecord, target: str, *, reason: str, lost_at: float | None = None) -> bool:
        election = self._fence()
        key = self._keys.call(record.call_id)
        new = self._moved(record, target, election, reason=reason, lost_at=lost_at)
        result = await election.fenced_txn(
            [Etcd.mod_revision_is(key, record.mod_revision)], [Etcd.op_put(key, new.to_json())]
        )
        if not result.succeeded:
            return False  # it changed under us (ended, or already moved): the watch brings news
        self.state.apply_local(replace(new, mod_revision=result.revision))
        MOVED.labels(reason).inc()
        return True

    # --- transfers a site asked for (IVR ``transfer: site:<name>``) ----------------------------
    def _call_written(self, record: CallRecord) -> None:
        if self.leading and record.state == RecordState.TRANSFERRING and record.transfer_to:
            self._transfers.put_nowait(record)

    async def _transfer_worker(self) -> None:
        while True:
            record = await self._transfers.get()
            current = self.state.calls.get(record.call_id)
            if current is None or current.mod_revision != record.mod_revision or not record.transfer_to:
                continue  # it changed since: the newer write is what counts
            if record.transfer_to not in self.state.sites or record.transfer_to == record.site:
                log(
                    _log,
                    logging.WARNING,
                    "transfer to a site that cannot take it",
                    call_id=record.call_id,
                    site=record.transfer_to,
                )
                continue  # the asking site gives the call to an agent after its transfer wait
            try:
                await self.move(record, record.transfer_to, reason="transfer")
            except NotLeader:
                return

    # --- cross-site overflow ------------------------------------------------------------------
    async def _overflow_loop(self) -> None:
        while True:
            await asyncio.sleep(self.overflow_every_s)
            if self.overflow_after_s:
                try:
                    await self.overflow_once()
                except NotLeader:
                    return

    async def overflow_once(self) -> int:
        """Move the calls :func:`select_overflow` picks now; the number that moved."""
        decisions = select_overflow(
            self.state.calls.values(), self.state.snapshots(), self.overflow_after_s, self._clock.now()
        )
        moved = 0
        for decision in decisions:
            if await self.move(decision.record, decision.target, reason="overflow"):
                moved += 1
        return moved

    async def stop(self) -> None:
        await self.step_down()
