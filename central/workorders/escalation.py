"""The escalator: every ``interval_s`` it asks the pure :func:`~central.workorders.sla.due_escalations`
what to escalate now, marks each in the store (once, whichever replica wins) and tells its sink.

Its timer runs on an injected scheduler (the loop, or a ``ManualClock`` in tests) and its task
is owned: ``stop()`` cancels and awaits it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from central.workorders.sla import Escalation, due_escalations
from central.workorders.store import WorkOrderStore
from cluster.clock import LOOP_SCHEDULER, Clock, Scheduler
from cluster.logs import log
from cluster.periodic import Periodic

_log = logging.getLogger(__name__)


class EscalationSink(Protocol):
    async def escalate(self, escalation: Escalation) -> None: ...


class LogSink:
    """Escalations as log lines (the queue / role targets pick them up from the store)."""

    async def escalate(self, escalation: Escalation) -> None:
        log(
            _log,
            logging.WARNING,
            "work order escalated",
            order_id=escalation.order_id,
            deadline=escalation.deadline.value,
            target=escalation.target,
            breached=escalation.breached,
        )


class Escalator:
    def __init__(
        self,
        store: WorkOrderStore,
        clock: Clock,
        sink: EscalationSink,
        *,
        interval_s: float = 30.0,
        warn_before_s: float = 900.0,
        scheduler: Scheduler = LOOP_SCHEDULER,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sink = sink
        self._warn_before_s = warn_before_s
        self._periodic = Periodic("escalator", interval_s, self.run_once, scheduler=scheduler)

    def start(self) -> None:
        self._periodic.start()

    async def run_once(self) -> list[Escalation]:
        now = self._clock.now()
        raised = []
        for escalation in due_escalations(await self._store.sla_views(), now, self._warn_before_s):
            if await self._store.mark_escalated(escalation, now):
                raised.append(escalation)
                await self._sink.escalate(escalation)
        return raised

    async def drain(self) -> None:
        await self._periodic.drain()

    async def stop(self) -> None:
        await self._periodic.stop()
