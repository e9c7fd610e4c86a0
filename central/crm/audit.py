"""Every view of a customer is audited: entries are checked when recorded and written in small
batches (every ``flush_every_s`` or ``batch`` entries), so a call-time look-up does not wait for
a write transaction. ``stop()`` writes what is pending."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from site_node.storage.errors import StorageError
from site_node.storage.guard import check_not_sensitive

_log = logging.getLogger(__name__)
MAX_PENDING = 100_000  # kept for a retry while the database does not answer; beyond, the oldest go (logged)


class AuditWriter(Protocol):
    async def audit_many(self, rows: list[dict[str, Any]]) -> None: ...


class AuditBuffer:
    def __init__(self, store: AuditWriter, *, replica: str, flush_every_s: float = 0.05, batch: int = 500) -> None:
        self._store, self._replica = store, replica
        self._flush_every_s, self._batch = flush_every_s, batch
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def record(self, *, at: float, actor: str, role: str, action: str, target: str | None,
               details: dict[str, Any] | None = None) -> None:  # fmt: skip
        payload = dict(details or {})
        check_not_sensitive(payload, "crm_audit")
        self._pending.append({"at": at, "actor": actor[:64], "role": role[:20], "replica": self._replica[:64],
                              "action": action, "target": target, "details": payload})  # fmt: skip
        if len(self._pending) >= self._batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="crm-audit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        rows, self._pending = self._pending, []
        try:
            await self._store.audit_many(rows)
        except StorageError as exc:
            self._pending = (rows + self._pending)[-MAX_PENDING:]
            _log.warning("audit entries not written yet (%d pending): %s", len(self._pending), exc)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_every_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._pending:
                await self.flush()
