"""The routing record of a live call in etcd (``<prefix>/calls/<call_id>``).

Who writes it, and how it is guarded (a handful of writes per call):

1. the central leader creates it when it routes the call: fenced on its leadership *and* on
   the key being absent (a call id is routed once);
2. the owning site updates it at the few moments that matter for failover (queued with its
   attached data, connected to an agent): guarded on the record's mod revision, so a site
   that lost the call (it was moved while the site was paused) learns it at its next write
   and drops the call instead of serving it twice;
3. the leader moves it to another site when its site's lease ends: fenced on leadership and
   on the mod revision it last saw;
4. the owning site deletes it when the call ends (the CDR is in the site's database).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd, KeyValue, TxnResult
from cluster.keys import Keyspace


class RecordState(StrEnum):
    """Where a live call is, as failover needs to know it. The owning site derives it from its
    call's state (``site_node.call.record_state``); central writes ``routed`` and ``moving``."""

    ROUTED = "routed"  # central chose the site; the caller has not started there yet
    IVR = "ivr"
    TEMPORARY_IVR = "temporary_ivr"  # in a PIN check / read-out; the agent waits (C5c)
    QUEUED = "queued"
    OFFERED = "offered"
    CONNECTED = "connected"
    HELD = "held"
    CONSULTING = "consulting"
    TRANSFERRING = "transferring"
    MOVING = "moving"  # central moved it to another site; the caller has not re-joined yet
    ENDED = "ended"  # a tombstone: the call ended at a site that had lost it; the owner clears it


class NumberSource(StrEnum):
    """Who says the caller's number is theirs. ``asserted``: the client itself (a web caller
    types it, an app sends it) -- it may identify a customer, never verify one. ``network``: a
    carrier delivered it (a SIP trunk's P-Asserted-Identity). The entry point that takes the
    call decides, in one place each (central's HTTP API: ``central.api._NUMBER_SOURCE``)."""

    ASSERTED = "asserted"
    NETWORK = "network"


TALKING_STATES: frozenset[RecordState] = frozenset(
    {RecordState.CONNECTED, RecordState.HELD, RecordState.CONSULTING, RecordState.TEMPORARY_IVR}
)
"""With an agent: a failover carries such a call on with its agent at the backup site."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    site: str
    state: RecordState
    skill: str
    priority: int
    original_arrival_at: float
    caller: str = ""
    dialled: str = ""
    # Anything not marked otherwise is asserted: a record written before the field existed too.
    number_source: NumberSource = NumberSource.ASSERTED
    service: str = ""
    customer_id: str | None = None
    segment: str | None = None
    home_site: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # call-attached data (C4), never sensitive
    fencing_token: int = 0  # leader token of the last routing decision
    routed_by: str = ""
    failovers: int = 0
    sites: tuple[str, ...] = ()  # every site that has owned the call, in order
    state_before_move: RecordState | None = None
    transfer_to: str | None = None  # the owning site asks central to move the call there (IVR transfer)
    # The call's story so far, for the CDR wherever it ends: first site and arrival, first IVR,
    # queue, offer and answer times, hold so far, failover gaps, and every move (at, from, to).
    history: dict[str, Any] = field(default_factory=dict)
    mod_revision: int = 0  # etcd's, filled in on read; not stored

    def to_json(self) -> str:
        body = asdict(self)
        body.pop("mod_revision")
        body["sites"] = list(self.sites)
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_kv(cls, kv: KeyValue) -> CallRecord:
        body = json.loads(kv.value)
        body["sites"] = tuple(body.get("sites", ()))
        body["state"] = RecordState(body["state"])
        body["number_source"] = NumberSource(body.get("number_source", NumberSource.ASSERTED))
        before = body.get("state_before_move")
        body["state_before_move"] = None if before is None else RecordState(before)
        return cls(**body, mod_revision=kv.mod_revision)

    def moved_to(
        self,
        site: str,
        *,
        fencing_token: int,
        routed_by: str,
        failover: bool = True,
        at: float | None = None,
        lost_at: float | None = None,
    ) -> CallRecord:
        """The record as central moves the call to ``site``: after its site failed (counted in
        ``failovers``), or because its site asked (``transfer_to``). The move joins the history:
        when it was made and, after a failure, when central reckons the call was lost."""
        move = {"at": at, "from": self.site, "to": site, "why": "failover" if failover else "transfer"}
        if lost_at is not None:
            move["lost_at"] = lost_at
        history = {**self.history, "moves": [*self.history.get("moves", []), move]}
        return replace(
            self,
            site=site,
            state=RecordState.MOVING,
            state_before_move=self.state if self.state != RecordState.MOVING else self.state_before_move,
            transfer_to=None,
            history=history,
            failovers=self.failovers + (1 if failover else 0),
            sites=(*self.sites, site),
            fencing_token=fencing_token,
            routed_by=routed_by,
        )

    @property
    def queue_order(self) -> tuple[int, float, str]:
        """Serve order: higher priority first, then original arrival, then id (stable)."""
        return (-self.priority, self.original_arrival_at, self.call_id)


class OwnershipLost(Exception):
    """The site no longer owns the call (it was moved or ended elsewhere)."""


class SiteCallStore:
    """A site's guarded writes to the records of the calls it owns."""

    def __init__(
        self, etcd: Etcd, keys: Keyspace, site: str, *, retry_for_s: float = 30.0, retry_sleep_s: float = 0.2
    ) -> None:
        self._etcd = etcd
        self._keys = keys
        self.site = site
        self._retry_for_s = retry_for_s  # how long a write is retried while etcd is unreachable
        self._retry_sleep_s = retry_sleep_s

    async def claim(self, call_id: str) -> CallRecord:
        """Read the record of a call routed (or moved) here; raise if it is not ours."""
        kv = await self._etcd.get(self._keys.call(call_id))
        if kv is None:
            raise OwnershipLost(f"call {call_id} has no routing record")
        record = CallRecord.from_kv(kv)
        if record.site != self.site:
            raise OwnershipLost(f"call {call_id} belongs to {record.site}")
        if record.state == RecordState.ENDED:
            raise OwnershipLost(f"call {call_id} has ended")
        return record

    async def _guarded(self, record: CallRecord, op: Any) -> tuple[TxnResult, bool]:
        """Apply ``op`` if the record is still at the revision we hold; retried while etcd is
        unreachable (a member died, an election). Returns the result and whether a retry
        happened (a retried write may have gone through the first time)."""
        key = self._keys.call(record.call_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry_for_s
        retried = False
        while True:
            try:
                result = await self._etcd.txn(
                    [Etcd.mod_revision_is(key, record.mod_revision)], [op], [Etcd.op_get(key)], timeout=2.0
                )
                return result, retried
            except EtcdUnavailable:
                if loop.time() > deadline:
                    raise
                retried = True
                await asyncio.sleep(self._retry_sleep_s)

    async def update(self, record: CallRecord, **changes: Any) -> CallRecord:
        new = replace(record, **changes)
        key = self._keys.call(record.call_id)
        result, retried = await self._guarded(record, Etcd.op_put(key, new.to_json()))
        if result.succeeded:
            return replace(new, mod_revision=result.revision)
        kvs = result.responses[0].response_range.kvs if result.responses else []
        if retried and kvs and bytes(kvs[0].value) == new.to_json().encode():
            return replace(new, mod_revision=int(kvs[0].mod_revision))  # our first attempt went through
        raise OwnershipLost(f"call {record.call_id} was changed by someone else (moved?)")

    async def finish(self, record: CallRecord) -> None:
        result, retried = await self._guarded(record, Etcd.op_delete(self._keys.call(record.call_id)))
        if result.succeeded:
            return
        kvs = result.responses[0].response_range.kvs if result.responses else []
        if retried and not kvs:
            return  # our first attempt deleted it; only its answer was lost
        raise OwnershipLost(f"call {record.call_id} was moved before it ended here")

    async def tombstone(self, call_id: str) -> bool:
        """The call ended here after central had moved it (we were paused past our lease):
        tell the new owner, if its caller has not re-joined there yet (state ``moving``).

        Returns True if the call's outcome stays ours (tombstone written, or ours already);
        False if the new owner took the call over, or another site's tombstone holds the
        outcome (our part ends as ``failed_over``).
        """
        key = self._keys.call(call_id)
        kv = await self._etcd.get(key)
        if kv is None:
            return False
        record = CallRecord.from_kv(kv)
        if record.state == RecordState.ENDED:  # the site that wrote the tombstone has the outcome
            return record.data.get("ended_at_site") == self.site
        if record.state != RecordState.MOVING:
            return False
        ended = replace(record, state=RecordState.ENDED, data={**record.data, "ended_at_site": self.site})
        result = await self._etcd.txn([Etcd.mod_revision_is(key, kv.mod_revision)], [Etcd.op_put(key, ended.to_json())])
        return result.succeeded

    async def remove_ended(self, record: CallRecord) -> None:
        """The owner clears a tombstone (the call ended at the site that lost it)."""
        key = self._keys.call(record.call_id)
        await self._etcd.txn([Etcd.mod_revision_is(key, record.mod_revision)], [Etcd.op_delete(key)])
