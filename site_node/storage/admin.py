"""The statistics job's KPI aggregates (M2); the audit trail is :mod:`site_node.storage.audit`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, or_, select

from site_node.storage._base import Repository, table_of
from site_node.storage.models import StatsAggregate
from site_node.storage.records import KpiAggregate

_ANY: Any = object()
"""Sentinel of :meth:`StatsRepository.load_aggregates`: no filter on that column."""


class StatsRepository(Repository):
    async def save_aggregates(self, aggregates: Iterable[KpiAggregate]) -> int:
        """Replace the rows of the same (interval_start, interval_s, site, queue, agent) cells."""
        rows = [
            {
                "interval_start": a.interval_start,
                "interval_s": a.interval_s,
                "site": a.site,
                "queue": a.queue,
                "agent_id": a.agent_id,
                "kpis": dict(a.kpis),
                "computed_at": a.computed_at,
            }
            for a in aggregates
        ]
        if not rows:
            return 0
        cells = [
            and_(
                StatsAggregate.interval_start == r["interval_start"],
                StatsAggregate.interval_s == r["interval_s"],
                StatsAggregate.site == r["site"],
                StatsAggregate.queue.is_not_distinct_from(r["queue"]),
                StatsAggregate.agent_id.is_not_distinct_from(r["agent_id"]),
            )
            for r in rows
        ]
        async with self._transaction("save_aggregates") as session:
            for start in range(0, len(cells), 200):
                await session.execute(delete(StatsAggregate).where(or_(*cells[start : start + 200])))
            await session.execute(table_of(StatsAggregate).insert(), rows)
        return len(rows)

    async def load_aggregates(
        self,
        *,
        site: str | None = None,
        start: float | None = None,
        end: float | None = None,
        interval_s: int | None = None,
        queue: str | None = _ANY,
        agent_id: str | None = _ANY,
    ) -> list[KpiAggregate]:
        """Aggregates with ``interval_start`` in ``[start, end)``; ``queue=None`` selects the
        all-queues rows (leave it out for every queue), likewise ``agent_id``."""
        query = select(StatsAggregate).order_by(StatsAggregate.interval_start, StatsAggregate.site, StatsAggregate.id)
        if site is not None:
            query = query.where(StatsAggregate.site == site)
        if start is not None:
            query = query.where(StatsAggregate.interval_start >= start)
        if end is not None:
            query = query.where(StatsAggregate.interval_start < end)
        if interval_s is not None:
            query = query.where(StatsAggregate.interval_s == interval_s)
        if queue is not _ANY:
            query = query.where(StatsAggregate.queue.is_not_distinct_from(queue))
        if agent_id is not _ANY:
            query = query.where(StatsAggregate.agent_id.is_not_distinct_from(agent_id))
        async with self._transaction("load_aggregates") as session:
            return [
                KpiAggregate(
                    interval_start=r.interval_start,
                    interval_s=r.interval_s,
                    site=r.site,
                    kpis=dict(r.kpis),
                    queue=r.queue,
                    agent_id=r.agent_id,
                    computed_at=r.computed_at,
                )
                for r in (await session.scalars(query)).all()
            ]
