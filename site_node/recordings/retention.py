"""Retention of recordings per queue, with legal hold (A6).

:func:`expired` is the rule (pure: no I/O, time passed in). :class:`RetentionSweep` applies it
every ``interval_s`` on an owned :class:`~cluster.periodic.Periodic`: a recording past its
queue's retention and not on legal hold loses its row (the delete re-checks the hold, so a
hold placed during the sweep wins) and then its sealed file; each deletion is audited
(``recording_deleted``, what and why; never the audio or the caller's number).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cluster.clock import LOOP_SCHEDULER, Clock, Scheduler
from cluster.errors import ConfigError
from cluster.logs import log
from cluster.periodic import Periodic
from site_node.storage.records import RecordingMeta

_log = logging.getLogger(__name__)
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How many days a queue's recordings are kept (``default_days`` for queues not named)."""

    default_days: float = 365.0
    per_queue: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, days in {"default": self.default_days, **self.per_queue}.items():
            if not days > 0:
                raise ConfigError(f"recording retention of {name}: a number of days above 0",
                                  error_id="config.bad_retention", queue=name)  # fmt: skip

    def days(self, queue: str | None) -> float:
        return self.per_queue.get(queue or "", self.default_days)

    def shortest_days(self) -> float:
        return min([self.default_days, *self.per_queue.values()])


def expired(policy: RetentionPolicy, *, queue: str | None, started_at: float, legal_hold: bool, now: float) -> bool:
    """Whether a recording is due for deletion: past its queue's retention and not held."""
    return not legal_hold and now - started_at >= policy.days(queue) * DAY_S


class RecordingsStore(Protocol):
    async def retention_candidates(
        self, before: float, *, limit: int = ...
    ) -> list[tuple[RecordingMeta, str | None]]: ...

    async def delete_recording(self, recording_id: int) -> bool: ...


Audit = Callable[[str, str, dict[str, Any]], Awaitable[object]]
"""``(action, target, details)``: records an audit entry."""


class RetentionSweep:
    def __init__(
        self,
        store: Callable[[], RecordingsStore],
        policy: RetentionPolicy,
        clock: Clock,
        audit: Audit,
        *,
        interval_s: float = 3600.0,
        scheduler: Scheduler = LOOP_SCHEDULER,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._audit = audit
        self._periodic = Periodic("recordings.retention", interval_s, self.sweep, scheduler=scheduler)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def drain(self) -> None:
        await self._periodic.drain()

    async def sweep(self) -> list[int]:
        """One round: the ids of the recordings deleted."""
        now = self._clock.now()
        store = self._store()
        candidates = await store.retention_candidates(now - self._policy.shortest_days() * DAY_S)
        deleted: list[int] = []
        for meta, queue in candidates:
            if meta.id is None or not expired(self._policy, queue=queue, started_at=meta.started_at,
                                              legal_hold=meta.legal_hold, now=now):  # fmt: skip
                continue
            if not await store.delete_recording(meta.id):
                continue  # held (or gone) since the candidates were read
            await asyncio.to_thread(Path(meta.path).unlink, missing_ok=True)
            deleted.append(meta.id)
            await self._audit(
                "recording_deleted",
                str(meta.id),
                {
                    "call_id": meta.call_id,
                    "queue": queue,
                    "reason": "retention",
                    "retention_days": self._policy.days(queue),
                },
            )
        if deleted:
            log(_log, logging.INFO, "recordings past retention deleted", count=len(deleted))
        return deleted
