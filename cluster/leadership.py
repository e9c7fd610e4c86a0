"""A process's standing in an election, kept up for as long as the process runs.

:class:`Leadership` owns two tasks: one campaigns (with a fresh session after every loss) and
one observes who leads, so followers always know where to forward and a new leader takes
over within TTL + a fraction of a second of the old one's death.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cluster.election import Election, Leader
from cluster.errors import EtcdUnavailable, NotLeader
from cluster.etcd import Etcd, Session
from cluster.logs import log
from cluster.tasks import cancel_and_wait

_log = logging.getLogger(__name__)

Callback = Callable[[Election], Awaitable[None]]


class Leadership:
    def __init__(
        self,
        etcd: Etcd,
        prefix: str,
        identity: dict[str, Any],
        *,
        ttl_s: int,
        on_elected: Callback | None = None,
        on_deposed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._etcd = etcd
        self._prefix = prefix
        self.identity = identity
        self._ttl_s = ttl_s
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self.election: Election | None = None
        self.current: Leader | None = None
        self._leading = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._observer_election: Election | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    @property
    def fencing_token(self) -> int:
        return self.election.fencing_token if self.election is not None and self.is_leader else 0

    def current_identity(self) -> dict[str, Any] | None:
        if self.current is None:
            return None
        try:
            value = json.loads(self.current.value)
        except ValueError:
            return {"name": self.current.name}
        return value if isinstance(value, dict) else {"name": str(value)}

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._campaign_forever(), name="leadership-campaign"),
            asyncio.create_task(self._observe_forever(), name="leadership-observe"),
        ]

    async def _campaign_forever(self) -> None:
        backoff = 0.2
        while True:
            session: Session | None = None
            try:
                session = await Session(self._etcd, self._ttl_s).start()
                election = Election(self._etcd, session, self._prefix)
                await election.campaign(json.dumps(self.identity, sort_keys=True).encode())
                self.election = election
                self._leading.set()
                if self._on_elected is not None:
                    await self._on_elected(election)
                await session.wait_lost()
                log(_log, logging.WARNING, "leadership lost with the session")
            except (EtcdUnavailable, NotLeader, TimeoutError) as exc:
                log(_log, logging.WARNING, "campaign interrupted", reason=str(exc), retry_in_s=backoff)
            finally:
                was_leader = self._leading.is_set()
                self._leading.clear()
                if was_leader and self._on_deposed is not None:
                    await self._on_deposed()
                if session is not None:
                    with contextlib.suppress(Exception):
                        if self.election is not None:
                            await asyncio.wait_for(self.election.resign(), 1.0)
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(session.close(), 1.0)
                self.election = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _observe_forever(self) -> None:
        # Observing needs no lease: a throwaway Election object only reads the prefix.
        observer = Election(self._etcd, Session(self._etcd, self._ttl_s), self._prefix)
        while True:
            try:
                async for leader in observer.observe():
                    self.current = leader
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "leader observation interrupted", reason=str(exc))
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
