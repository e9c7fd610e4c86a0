"""Audited actions call :meth:`AuditTrail.record` (awaited: HTTP handlers) or
:meth:`AuditTrail.spawn` (the call path: an owned task, nothing waits for it). A write that
fails never breaks or blocks the action: it is logged at ERROR with the whole entry (no
sensitive value ever reaches an entry) and counted in ``cc_audit_write_failures_total``, so a
gap in the trail is visible on the dashboard and in the logs, never silent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from cluster.clock import Clock
from cluster.logs import log
from cluster.tasks import TaskOwner

if TYPE_CHECKING:
    from site_node.storage import Storage

_log = logging.getLogger("site_node.audit")

AUDIT_WRITE_FAILURES = Counter(
    "cc_audit_write_failures_total", "audit entries that could not be written (each logged at ERROR)", ["action"]
)


class AuditTrail:
    def __init__(self, storage: Callable[[], Storage], clock: Clock, owner: TaskOwner | None = None) -> None:
        self._storage = storage
        self._clock = clock
        self._owner = owner

    async def record(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        role: str = "",
        at: float | None = None,
    ) -> bool:
        """Append an entry; False (logged and counted) if it could not be written."""
        when = self._clock.now() if at is None else at
        try:
            await self._storage().audit.audit(at=when, actor=actor, action=action, target=target,
                                              details=details, role=role)
        except Exception as exc:  # whatever failed, the audited action goes on
            AUDIT_WRITE_FAILURES.labels(action).inc()
            log(_log, logging.ERROR, "audit entry NOT written", at=when, actor=actor, role=role, action=action,
                target=target, error=f"{type(exc).__name__}: {exc}")
            return False
        return True

    def spawn(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        role: str = "",
    ) -> None:
        """Record in an owned task (the time is taken now, not when the task runs)."""
        if self._owner is None:
            raise RuntimeError("an AuditTrail without an owner cannot spawn")
        entry = self.record(actor=actor, action=action, target=target, details=details, role=role,
                            at=self._clock.now())
        self._owner.spawn(entry, f"audit-{action}")
