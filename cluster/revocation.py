"""Revoked tokens (logout, an administrator's revocation): a deny-list every process sees.

An entry is a token's ``jti`` or a login session's ``sid`` (every token re-issued from one
login carries it, so revoking the session refuses them all), kept in etcd under
``<prefix>/revoked/`` on a lease that ends when the newest token it covers expires: etcd
forgets it once it cannot matter. Each process mirrors the list in memory from a watch, so
:class:`~cluster.tokens.TokenSigner` checks it without a round trip; the process that revokes
refuses the token at once, the others as soon as the watch tells them (milliseconds).
"""

from __future__ import annotations

import asyncio
import logging
import math

from cluster.clock import Clock
from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd, EventType
from cluster.keys import Keyspace
from cluster.logs import log

_log = logging.getLogger(__name__)


class Revocations:
    """The deny-list; ``ident in revocations`` is the check (a set look-up)."""

    def __init__(self, keys: Keyspace, clock: Clock, *, retry_s: float = 0.5) -> None:
        self._prefix = keys.revoked
        self._clock = clock
        self._retry_s = retry_s
        self._etcd: Etcd | None = None
        self._ids: set[str] = set()

    def connect(self, etcd: Etcd) -> None:
        self._etcd = etcd

    def __contains__(self, ident: object) -> bool:
        return ident in self._ids

    async def revoke(self, ident: str, *, until: float) -> None:
        """Refuse ``ident`` from now until ``until`` (epoch seconds; then it has expired anyway)."""
        if self._etcd is None:
            raise EtcdUnavailable("not connected to etcd", endpoints=[])
        ttl = max(1, math.ceil(until - self._clock.now()) + 1)
        lease = await self._etcd.grant(ttl)
        await self._etcd.put(self._prefix + ident, b"", lease=lease)
        self._ids.add(ident)

    async def run(self) -> None:
        """Load the list, then follow it (forever; re-reads after an etcd error)."""
        assert self._etcd is not None, "connect() first"
        while True:
            try:
                kvs, revision = await self._etcd.get_prefix(self._prefix)
                self._ids = {kv.key[len(self._prefix):] for kv in kvs}
                async for event in self._etcd.watch_prefix(self._prefix, start_revision=revision + 1):
                    ident = event.key[len(self._prefix):]
                    if event.type is EventType.PUT:
                        self._ids.add(ident)
                    else:
                        self._ids.discard(ident)
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "revocation watch interrupted; retrying", error=str(exc))
            await asyncio.sleep(self._retry_s)
