"""Leader election on etcd, shaped like etcd's ``client/v3/concurrency`` Election.

Each candidate puts ``<election prefix><lease hex>`` under its session's lease; the key with
the lowest create revision leads. A campaigner waits only until every key ahead of it is
gone. The leader's key create revision is its *fencing token*: :meth:`Election.fenced_txn`
applies a write only if that key still exists with that revision, so a leader that was
paused past its lease (SIGSTOP) and wakes up late cannot write anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from cluster.errors import NotLeader
from cluster.etcd import Compare, Etcd, EventType, KeyValue, Op, Session, TxnResult
from cluster.logs import log

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Leader:
    key: str
    value: bytes
    revision: int  # create revision of the leader key: the fencing token

    @property
    def name(self) -> str:
        return self.value.decode(errors="replace")


def _leader_of(kvs: Sequence[KeyValue]) -> Leader | None:
    if not kvs:
        return None
    first = min(kvs, key=lambda kv: kv.create_revision)
    return Leader(first.key, first.value, first.create_revision)


class Election:
    def __init__(self, etcd: Etcd, session: Session, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError("an election prefix ends with '/'")
        self._etcd = etcd
        self._session = session
        self.prefix = prefix
        self._key: str | None = None
        self._revision = 0

    @property
    def fencing_token(self) -> int:
        """Create revision of our candidate key (valid as a token only while leading)."""
        return self._revision

    async def campaign(self, value: bytes) -> Leader:
        """Block until this session leads; raise :class:`NotLeader` if the session is lost."""
        key = f"{self.prefix}{self._session.lease_id:016x}"
        result = await self._etcd.txn(
            [Etcd.absent(key)],
            [Etcd.op_put(key, value, lease=self._session.lease_id)],
            [Etcd.op_get(key)],
        )
        if result.succeeded:
            self._revision = result.revision
        else:
            self._revision = int(result.responses[0].response_range.kvs[0].create_revision)
            await self._etcd.put(key, value, lease=self._session.lease_id)
        self._key = key
        lost = asyncio.create_task(self._session.wait_lost(), name="campaign-session-lost")
        wait = asyncio.create_task(self._wait_for_turn(), name="campaign-wait")
        try:
            done, _ = await asyncio.wait({lost, wait}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (lost, wait):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if wait not in done or wait.cancelled() or wait.exception() is not None:
            self._key = None
            if wait in done and not wait.cancelled() and wait.exception() is not None:
                raise NotLeader("campaign failed: " + str(wait.exception())) from wait.exception()
            raise NotLeader("session lost while campaigning")
        leader = Leader(key, value, self._revision)
        log(_log, logging.INFO, "elected leader", key=key, fencing_token=self._revision)
        return leader

    async def _wait_for_turn(self) -> None:
        assert self._key is not None
        while True:
            kvs, revision = await self._etcd.get_prefix(self.prefix)
            ahead = [kv for kv in kvs if kv.create_revision < self._revision]
            if not any(kv.key == self._key for kv in kvs):
                raise NotLeader("our candidate key vanished (lease expired)")
            if not ahead:
                return
            # Wait only for the key just ahead of ours to go (no thundering herd).
            just_ahead = max(ahead, key=lambda kv: kv.create_revision).key
            async for event in self._etcd.watch_prefix(just_ahead, start_revision=revision + 1):
                if event.type is EventType.DELETE and event.key == just_ahead:
                    break

    async def resign(self) -> None:
        """Give up leadership (or candidacy): delete our key if it is still ours."""
        if self._key is None:
            return
        key, revision = self._key, self._revision
        self._key = None
        await self._etcd.txn([Etcd.create_revision_is(key, revision)], [Etcd.op_delete(key)])
        log(_log, logging.INFO, "resigned", key=key)

    async def leader(self) -> Leader | None:
        kvs, _ = await self._etcd.get_prefix(self.prefix)
        return _leader_of(kvs)

    async def observe(self) -> AsyncIterator[Leader | None]:
        """The current leader now, then every change of leader (None while there is none)."""
        kvs, revision = await self._etcd.get_prefix(self.prefix)
        members = {kv.key: kv for kv in kvs}
        current = _leader_of(list(members.values()))
        yield current
        async for event in self._etcd.watch_prefix(self.prefix, start_revision=revision + 1):
            if event.type is EventType.DELETE:
                members.pop(event.key, None)
            else:
                members[event.key] = KeyValue(
                    event.key, event.value, event.create_revision, event.mod_revision, 0, 0
                )
            new = _leader_of(list(members.values()))
            if new != current:
                current = new
                yield current

    async def fenced_txn(
        self, compare: Sequence[Compare], success: Sequence[Op], *, failure: Sequence[Op] = ()
    ) -> TxnResult:
        """Apply ``success`` only while we lead *and* ``compare`` holds.

        Raises :class:`NotLeader` if leadership is gone. If leadership holds but one of the
        caller's own comparisons fails, returns the result with ``succeeded=False`` (and
        ``failure`` applied) so the caller can tell a lost race from a lost election.
        """
        if self._key is None:
            raise NotLeader("not a leader: no campaign won")
        fence = Etcd.create_revision_is(self._key, self._revision)
        result = await self._etcd.txn([fence, *compare], success, failure)
        if result.succeeded:
            return result
        if compare:
            # Tell apart which comparison failed: is the fence still ours?
            check = await self._etcd.txn([fence], [], [])
            if check.succeeded:
                return result
        raise NotLeader(
            "write refused: this process no longer leads (its election key is gone)",
            fencing_token=self._revision,
        )
