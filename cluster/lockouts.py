"""Lockouts after repeated failures (PCI DSS 8.3.4): customers' PINs, agents' logins, client
addresses. The count is shared by every process of the cluster, in etcd, so a caller cannot
spread PIN guesses over calls or sites, nor an attacker login attempts over sites.

The decision is pure (:class:`Strikes` and :func:`strike`, time given); :class:`Lockouts`
keeps one record per subject under ``<prefix>/lockouts/<kind>/`` and updates it with
compare-and-swap, so concurrent failures at two sites are both counted. Each record is leased
for as long as it matters (the counting window or the lock), so etcd forgets it by itself.

While a subject is locked the secret is not even checked: the answer is "locked" whatever was
typed, so a lock is not an oracle.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from urllib.parse import quote, unquote

from pydantic import Field

from cluster.clock import Clock
from cluster.config import Section
from cluster.errors import CallCenterError
from cluster.etcd import Etcd
from cluster.keys import Keyspace


class LockoutPolicy(Section):
    """``max_failures`` failures within ``window_s`` lock the subject for ``lock_s``."""

    max_failures: int = Field(default=3, ge=1, le=100)
    window_s: float = Field(default=900.0, gt=0)
    lock_s: float = Field(default=1800.0, gt=0)


class Locked(CallCenterError):
    """Too many failures: try again after ``retry_after_s`` (HTTP 429 with ``Retry-After``)."""

    error_id = "auth.locked"
    status = 429


@dataclass(frozen=True, slots=True)
class Strikes:
    failures: int = 0
    first_at: float = 0.0
    locked_until: float = 0.0

    def retry_after(self, now: float) -> float:
        """Seconds the subject stays locked (0.0: not locked)."""
        return max(0.0, self.locked_until - now)

    def expires_at(self, policy: LockoutPolicy) -> float:
        return max(self.first_at + policy.window_s, self.locked_until)


def strike(policy: LockoutPolicy, strikes: Strikes, now: float) -> Strikes:
    """The record after one more failure at ``now``: a new window if the last one has passed;
    locked once the window holds ``max_failures`` failures."""
    if strikes.retry_after(now) > 0:
        return strikes  # already locked: a failure while locked does not extend the lock
    if strikes.failures == 0 or now >= strikes.first_at + policy.window_s:
        strikes = Strikes(failures=0, first_at=now)
    failures = strikes.failures + 1
    locked_until = now + policy.lock_s if failures >= policy.max_failures else 0.0
    return Strikes(failures=failures, first_at=strikes.first_at, locked_until=locked_until)


@dataclass(frozen=True, slots=True)
class Lockout:
    kind: str
    subject: str
    strikes: Strikes


class Lockouts:
    """One kind of lockout (``pin``, ``login``, ``login_address``) kept in etcd."""

    def __init__(self, etcd: Etcd, keys: Keyspace, kind: str, policy: LockoutPolicy, clock: Clock) -> None:
        self.kind = kind
        self.policy = policy
        self._etcd = etcd
        self._prefix = keys.lockouts(kind)
        self._clock = clock

    def _key(self, subject: str) -> str:
        return self._prefix + quote(subject[:128], safe="")

    async def _read(self, subject: str) -> tuple[Strikes, int]:
        kv = await self._etcd.get(self._key(subject))
        if kv is None:
            return Strikes(), 0
        return Strikes(**json.loads(kv.value)), kv.mod_revision

    async def retry_after(self, subject: str) -> float:
        strikes, _ = await self._read(subject)
        return strikes.retry_after(self._clock.now())

    async def check(self, subject: str, what: str) -> None:
        """Raise :class:`Locked` while ``subject`` is locked."""
        wait = await self.retry_after(subject)
        if wait > 0:
            raise Locked(f"{what} is locked after repeated failures; retry later", retry_after_s=math.ceil(wait))

    async def failed(self, subject: str) -> Strikes:
        """Count one failure (compare-and-swap: concurrent failures are all counted)."""
        key = self._key(subject)
        for _ in range(20):
            strikes, revision = await self._read(subject)
            now = self._clock.now()
            after = strike(self.policy, strikes, now)
            if after == strikes:
                return after
            ttl = max(1, math.ceil(after.expires_at(self.policy) - now))
            lease = await self._etcd.grant(ttl)
            guard = self._etcd.mod_revision_is(key, revision) if revision else self._etcd.absent(key)
            result = await self._etcd.txn([guard], [self._etcd.op_put(key, json.dumps(asdict(after)), lease=lease)])
            if result.succeeded:
                return after
            await self._etcd.revoke(lease)
        raise CallCenterError("lockout record is contended; retry", error_id="auth.contended", status=503)

    async def succeeded(self, subject: str) -> None:
        """A success forgets the failures (not a lock: a locked subject is never checked)."""
        await self._etcd.delete(self._key(subject))

    async def unlock(self, subject: str) -> bool:
        """Lift a lock (an authorised person's decision); whether there was a record."""
        return bool(await self._etcd.delete(self._key(subject)))

    async def locked(self) -> list[Lockout]:
        """The subjects locked now."""
        kvs, _ = await self._etcd.get_prefix(self._prefix)
        now = self._clock.now()
        out = []
        for kv in kvs:
            strikes = Strikes(**json.loads(kv.value))
            if strikes.retry_after(now) > 0:
                out.append(Lockout(self.kind, unquote(kv.key[len(self._prefix):]), strikes))
        return out
