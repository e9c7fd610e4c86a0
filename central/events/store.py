"""The event log and the subscriptions in the business database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from central.events import tables as t
from central.events.derive import Event
from central.events.errors import UnknownSubscription
from central.workorders import tables as wo

_PG_APPEND_LOCK = 0x6363_4556  # "ccEV"


def _event(row: Any) -> Event:
    return Event(row.event_id, row.type, row.at, dict(row.data), site=row.site, queue=row.queue,
                 call_id=row.call_id, version=row.version, seq=row.seq)  # fmt: skip


def _subscription(row: Any) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {"id": row.id, "url": row.url, "types": list(row.types), "sites": list(row.sites),
            "queues": list(row.queues), "delivered_seq": row.delivered_seq, "created_by": row.created_by,
            "created_at": row.created_at, "secret_set": True}  # fmt: skip


class EventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def _insert(self) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(t.events).on_conflict_do_nothing(index_elements=["event_id"])

    async def append(self, events: Iterable[Event]) -> int:
        """Store the events not stored yet (by id), in order; how many were new."""
        added = 0
        async with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":  # writers take turns: offsets commit in order,
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_APPEND_LOCK})  # none skipped
            for e in events:
                values = {"event_id": e.event_id, "type": e.type, "version": e.version, "at": e.at,
                          "site": e.site, "queue": e.queue, "call_id": e.call_id, "data": e.data}  # fmt: skip
                result = await conn.execute(self._insert().values(**values))
                added += max(0, result.rowcount or 0)
        return added

    async def after(self, seq: int, limit: int) -> list[Event]:
        query = sa.select(t.events).where(t.events.c.seq > seq).order_by(t.events.c.seq).limit(limit)
        async with self.engine.connect() as conn:
            return [_event(row) for row in await conn.execute(query)]

    async def last_of_call(self, call_id: str) -> Event | None:
        query = sa.select(t.events).where(t.events.c.call_id == call_id).order_by(t.events.c.seq.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _event(row)

    async def last_workorder_entry(self) -> int:
        """The newest work-order history id already turned into an event (0: none)."""
        query = (sa.select(t.events.c.event_id).where(t.events.c.type.like("workorder.%"))
                 .order_by(t.events.c.seq.desc()).limit(1))  # fmt: skip
        async with self.engine.connect() as conn:
            found = (await conn.execute(query)).scalar()
        return int(str(found).rsplit(":", 1)[1]) if found else 0

    async def add_subscription(self, values: dict[str, Any]) -> dict[str, Any]:
        async with self.engine.begin() as conn:
            start = (await conn.execute(sa.select(sa.func.max(t.events.c.seq)))).scalar() or 0
            values = {**values, "delivered_seq": values.get("delivered_seq", start)}
            new_id = (await conn.execute(t.subscriptions.insert().values(**values))).inserted_primary_key[0]  # type: ignore[index]
        return await self.subscription(int(new_id))

    async def subscription(self, sub_id: int, *, with_secret: bool = False) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t.subscriptions).where(t.subscriptions.c.id == sub_id))).first()
        if row is None:
            raise UnknownSubscription(f"no subscription {sub_id}", id=sub_id)
        shown = _subscription(row)
        return {**shown, "secret": row.secret} if with_secret else shown

    async def subscriptions(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            return [
                _subscription(r) for r in await conn.execute(sa.select(t.subscriptions).order_by(t.subscriptions.c.id))
            ]

    async def update_subscription(self, sub_id: int, values: dict[str, Any]) -> dict[str, Any]:
        async with self.engine.begin() as conn:
            done = await conn.execute(t.subscriptions.update().where(t.subscriptions.c.id == sub_id).values(**values))
        if not done.rowcount:
            raise UnknownSubscription(f"no subscription {sub_id}", id=sub_id)
        return await self.subscription(sub_id)

    async def delete_subscription(self, sub_id: int) -> None:
        async with self.engine.begin() as conn:
            done = await conn.execute(t.subscriptions.delete().where(t.subscriptions.c.id == sub_id))
        if not done.rowcount:
            raise UnknownSubscription(f"no subscription {sub_id}", id=sub_id)

    async def delivered(self, sub_id: int, seq: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(t.subscriptions.update().where(t.subscriptions.c.id == sub_id)
                               .where(t.subscriptions.c.delivered_seq < seq).values(delivered_seq=seq))  # fmt: skip

    async def workorder_entries(self, after_id: int, limit: int) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Work-order history entries after ``after_id`` with their order (central/workorders' tables)."""
        query = (sa.select(wo.status_history, wo.work_orders.c.type, wo.work_orders.c.priority,
                           wo.work_orders.c.department_id)
                 .join(wo.work_orders, wo.work_orders.c.id == wo.status_history.c.order_id)
                 .where(wo.status_history.c.id > after_id).order_by(wo.status_history.c.id).limit(limit))  # fmt: skip
        async with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(query)]
        return [(r, {"type": r["type"], "priority": r["priority"], "department_id": r["department_id"]}) for r in rows]
