"""The site's services built in one process by the runtime's own wiring, with a manual clock
(also the timers' scheduler) and in-memory edges: the etcd record store, the clients'
sockets and softphone legs. Storage is a real SQLite database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from cluster.callrecords import CallRecord, OwnershipLost, RecordState
from cluster.clock import ManualClock
from cluster.lockouts import LockoutPolicy, Strikes, strike
from cluster.tokens import Claims
from site_node.acd import QueueConfig
from site_node.call import SetData, call_from_record
from site_node.calls.live import LiveCall
from site_node.config import SiteSettings
from site_node.runtime.service import SiteRuntime
from site_node.signalling.control import Session
from site_node.storage import Storage, database_url


class MemoryCallStore:
    """The site's guarded record writes (:class:`cluster.callrecords.SiteCallStore`) in memory."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.records: dict[str, CallRecord] = {}
        self.writes: list[tuple[str, RecordState, str | None]] = []

    async def claim(self, call_id: str) -> CallRecord:
        record = self.records.get(call_id)
        if record is None or record.site != self.site:
            raise OwnershipLost(call_id)
        return record

    async def update(self, record: CallRecord, **changes: Any) -> CallRecord:
        current = self.records.get(record.call_id)
        if current is None or current.mod_revision != record.mod_revision:
            raise OwnershipLost(record.call_id)
        new = replace(record, **changes, mod_revision=record.mod_revision + 1)
        self.records[record.call_id] = new
        self.writes.append((record.call_id, new.state, new.agent_id))
        return new

    async def finish(self, record: CallRecord) -> None:
        current = self.records.get(record.call_id)
        if current is None or current.mod_revision != record.mod_revision:
            raise OwnershipLost(record.call_id)
        del self.records[record.call_id]

    async def tombstone(self, call_id: str) -> bool:
        return False

    async def remove_ended(self, record: CallRecord) -> None:
        self.records.pop(record.call_id, None)


class MemoryLeg:
    def __init__(self, leg_id: str) -> None:
        self.leg_id = leg_id

    async def close(self, reason: str) -> None:
        pass


class Client:
    """One socket: the events the site pushed to it."""

    def __init__(self, kind: str, subject: str, **extra: Any) -> None:
        claims = Claims(kind, subject, "site-1", 0.0, 1e12, f"t-{subject}", extra)  # type: ignore[arg-type]
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.session = Session(claims, self._send)

    async def _send(self, message: dict[str, Any]) -> None:
        self.events.append((message["event"], message["data"]))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


class MemoryLockouts:
    """The lockout record of :class:`cluster.lockouts.Lockouts`, kept in a dict (the same rule)."""

    def __init__(self, policy: LockoutPolicy, clock: ManualClock) -> None:
        self.policy, self._clock, self._strikes = policy, clock, dict[str, Strikes]()

    async def retry_after(self, subject: str) -> float:
        return self._strikes.get(subject, Strikes()).retry_after(self._clock.now())

    async def failed(self, subject: str) -> Strikes:
        self._strikes[subject] = strike(self.policy, self._strikes.get(subject, Strikes()), self._clock.now())
        return self._strikes[subject]

    async def succeeded(self, subject: str) -> None:
        self._strikes.pop(subject, None)


SECRET = "h" * 48


def _centrals(urls: list[str]) -> Callable[[], Awaitable[list[str]]]:
    async def centrals() -> list[str]:
        return list(urls)

    return centrals


class Harness:
    def __init__(self, runtime: SiteRuntime, clock: ManualClock, store: MemoryCallStore) -> None:
        self.runtime = runtime
        self.clock = clock
        self.store = store
        self.central_urls: list[str] = []

    @classmethod
    async def start(
        cls, data_dir: Path, *, at: float | None = None, queues: tuple[str, ...] = ("retail", "loans"),
        central: str | None = None, clock: ManualClock | None = None,
    ) -> Harness:  # fmt: skip
        settings = SiteSettings.model_validate(
            {"site": {"data_dir": str(data_dir), "recording_key": "r" * 48}, "tokens": {"secret": SECRET}}
        )
        clock = clock or (ManualClock() if at is None else ManualClock(at))
        runtime = SiteRuntime(settings, clock=clock, scheduler=clock)
        url = database_url(None, data_dir=str(data_dir), site=runtime.site)
        runtime.storage = await Storage.open(url)
        by_name = {name: QueueConfig(name, name) for name in queues}
        store = MemoryCallStore(runtime.site)
        runtime.lockouts = {
            kind: MemoryLockouts(getattr(settings.site.lockouts, kind), clock)  # type: ignore[misc]
            for kind in ("pin", "login", "login_address")
        }
        # no central unless given (a real CRM server, tests.crm.conftest.serve): the CRM client finds none
        urls = [] if central is None else [central]
        runtime.centrals = _centrals(urls)  # type: ignore[assignment]
        runtime._wire(store, by_name)  # type: ignore[arg-type]
        runtime.ready.set()
        harness = cls(runtime, clock, store)
        harness.central_urls = urls  # a test may point it elsewhere (central unreachable)
        return harness

    async def stop(self) -> None:
        await self.runtime.owner.stop()
        await self.runtime.storage.close()

    async def settle(self) -> None:
        """Let the owned tasks (record writes, events to clients, CDR writes) run to the end."""
        await self.runtime.owner.drain()

    async def advance(self, seconds: float) -> None:
        await self.settle()
        self.clock.advance(seconds)
        await self.settle()

    async def agent(self, agent_id: str, skills: dict[str, int]) -> Client:
        client = Client("agent", agent_id, skills=skills, name=agent_id)
        await self.runtime.join(client.session)
        self.runtime.desk.attach_leg(client.session, MemoryLeg(f"leg-{agent_id}"))  # type: ignore[arg-type]
        return client

    async def queued_call(
        self, call_id: str, queue: str, *, customer_id: str | None = None, collected: dict[str, str] | None = None
    ) -> LiveCall:
        """A caller routed here, past the IVR (which identified ``customer_id`` and collected
        ``collected``), asking for ``queue``."""
        record = CallRecord(call_id, self.runtime.site, RecordState.ROUTED, queue, 0, self.clock.now(), caller="+861")
        self.store.records[call_id] = record
        lc = LiveCall(call_from_record(record, site=self.runtime.site, now=self.clock.now()), record)
        if customer_id is not None:
            lc.apply(SetData("call", "customer_id", customer_id), self.clock.now())
        for key, value in (collected or {}).items():
            lc.apply(SetData("collected", key, value), self.clock.now())
        self.runtime.book.live[call_id] = lc
        q = self.runtime.dispatcher.queue(queue)
        self.runtime.dispatcher.enqueue(lc, q.name, q.skill, 0)
        await self.settle()
        return lc
