"""Call detail records and call events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from site_node.storage._base import Repository, lock_key, table_of, upsert
from site_node.storage.errors import Conflict, StorageError
from site_node.storage.guard import check_not_sensitive, mask_numbers_in_text
from site_node.storage.models import Call, CallEvent, Disposition
from site_node.storage.records import CDR_COLUMNS, CallDetailRecord, CallEventRecord, DispositionRecord

_SEQ_RETRIES = 5
EventInput = tuple[str, float, Mapping[str, Any] | None]
"""``(type, at, data)`` of an event to append."""


def _record(value: CallDetailRecord | Mapping[str, Any]) -> CallDetailRecord:
    if isinstance(value, CallDetailRecord):
        check_not_sensitive(value.as_dict(), "calls")
        return value
    return CallDetailRecord.from_mapping(value)


def _to_record(row: Call) -> CallDetailRecord:
    return CallDetailRecord(**{name: getattr(row, name) for name in CDR_COLUMNS})


class CallRepository(Repository):
    """The CDR (``calls``) and the call's history (``call_events``)."""

    async def upsert_call(self, record: CallDetailRecord | Mapping[str, Any]) -> None:
        """Insert or replace the CDR row of ``record.call_id`` at this site.

        The whole row is replaced: a call that failed over leaves one row per site, each
        describing what happened there. Sensitive keys/values raise before any write.
        """
        await self.upsert_calls([record])

    async def upsert_calls(self, records: Iterable[CallDetailRecord | Mapping[str, Any]]) -> int:
        rows = [_record(item).as_dict() for item in records]
        if not rows:
            return 0
        async with self._transaction("upsert_call") as session:
            await session.execute(upsert(session, table_of(Call), ["call_id"]), rows)
        return len(rows)

    async def get_call(self, call_id: str) -> CallDetailRecord | None:
        async with self._transaction("get_call") as session:
            row = await session.get(Call, call_id)
            return None if row is None else _to_record(row)

    async def calls_between(self, start: float, end: float, *, site: str | None = None) -> list[CallDetailRecord]:
        """CDRs whose ``arrival_at`` is in ``[start, end)``, oldest first (statistics input)."""
        query = select(Call).where(Call.arrival_at >= start, Call.arrival_at < end)
        if site is not None:
            query = query.where(Call.site == site)
        async with self._transaction("calls_between") as session:
            rows = (await session.scalars(query.order_by(Call.arrival_at, Call.call_id))).all()
            return [_to_record(row) for row in rows]

    async def calls_page(
        self,
        start: float,
        end: float,
        *,
        queue: str | None = None,
        agent_id: str | None = None,
        after: tuple[float, str] | None = None,
        inclusive: bool = False,
        limit: int = 100,
    ) -> list[CallDetailRecord]:
        """CDRs whose ``arrival_at`` is in ``[start, end)``, ordered by ``(arrival_at, call_id)``,
        from just after ``after`` (or at it, ``inclusive``), at most ``limit`` (the read API)."""
        query = select(Call).where(Call.arrival_at >= start, Call.arrival_at < end)
        if queue is not None:
            query = query.where(Call.queue == queue)
        if agent_id is not None:
            query = query.where(Call.agent_id == agent_id)
        if after is not None:
            at, call_id = after
            later = Call.call_id >= call_id if inclusive else Call.call_id > call_id
            query = query.where((Call.arrival_at > at) | ((Call.arrival_at == at) & later))
        query = query.order_by(Call.arrival_at, Call.call_id).limit(limit)
        async with self._transaction("calls_page") as session:
            return [_to_record(row) for row in (await session.scalars(query)).all()]

    async def recent_for_customer(self, customer_id: str, *, limit: int = 5) -> list[CallDetailRecord]:
        """The customer's latest calls at this site, newest first (contact history, C3)."""
        query = select(Call).where(Call.customer_id == customer_id)
        async with self._transaction("recent_for_customer") as session:
            rows = (await session.scalars(query.order_by(Call.arrival_at.desc()).limit(limit))).all()
            return [_to_record(row) for row in rows]

    async def count_calls(self, *, site: str | None = None) -> int:
        query = select(func.count()).select_from(Call)
        if site is not None:
            query = query.where(Call.site == site)
        async with self._transaction("count_calls") as session:
            return int((await session.execute(query)).scalar_one())

    async def append_event(self, call_id: str, type: str, at: float, data: Mapping[str, Any] | None = None) -> int:
        """Append one event to the call's history; returns its sequence number (1, 2, ...)."""
        return (await self.append_events(call_id, [(type, at, data)]))[0]

    async def append_events(self, call_id: str, events: Sequence[EventInput]) -> list[int]:
        """Append events in order, atomically; sensitive data refuses the whole batch."""
        payloads = [dict(data or {}) for _type, _at, data in events]
        for payload in payloads:
            check_not_sensitive(payload, "call_events")
        if not events:
            return []
        for _attempt in range(_SEQ_RETRIES):
            try:
                return await self._append(call_id, events, payloads)
            except Conflict:
                continue  # another writer took the same sequence numbers: read again
        raise StorageError(
            f"call_events: could not allocate sequence numbers for call {call_id}",
            error_id="storage.conflict",
            status=409,
        )

    async def _append(self, call_id: str, events: Sequence[EventInput], payloads: list[dict[str, Any]]) -> list[int]:
        async with self._transaction("append_event") as session:
            await lock_key(session, f"call_events:{call_id}")
            last = await session.scalar(select(func.max(CallEvent.seq)).where(CallEvent.call_id == call_id))
            first = (last or 0) + 1
            seqs = list(range(first, first + len(events)))
            rows = [
                {"call_id": call_id, "seq": seq, "at": at, "type": type_, "data": payload}
                for seq, (type_, at, _data), payload in zip(seqs, events, payloads, strict=True)
            ]
            await session.execute(table_of(CallEvent).insert(), rows)
        return seqs

    async def save_disposition(self, record: DispositionRecord) -> None:
        """Insert or replace the call's disposition. Notes keep no full card or account number
        (masked); a sensitive key or value anywhere else refuses the write."""
        row = {
            "call_id": record.call_id,
            "customer_id": record.customer_id,
            "agent_id": record.agent_id,
            "code": record.code,
            "notes": None if record.notes is None else mask_numbers_in_text(record.notes)[:2000],
            "collected": dict(record.collected),
            "attributes": dict(record.attributes),
            "actions": {"done": list(record.actions)},
            "recorded_at": record.recorded_at,
        }
        check_not_sensitive(row, "dispositions")
        async with self._transaction("save_disposition") as session:
            await session.execute(upsert(session, table_of(Disposition), ["call_id"]), [row])

    async def dispositions(self, call_ids: Iterable[str]) -> dict[str, DispositionRecord]:
        ids = list(call_ids)
        if not ids:
            return {}
        async with self._transaction("dispositions") as session:
            rows = (await session.scalars(select(Disposition).where(Disposition.call_id.in_(ids)))).all()
            return {
                r.call_id: DispositionRecord(
                    r.call_id, r.customer_id, r.agent_id, r.code, r.notes, dict(r.collected), dict(r.attributes),
                    tuple(dict(r.actions).get("done", ())), r.recorded_at,
                )
                for r in rows
            }

    async def events_for_call(self, call_id: str) -> list[CallEventRecord]:
        query = select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.seq)
        async with self._transaction("events_for_call") as session:
            rows = (await session.scalars(query)).all()
            return [CallEventRecord(r.call_id, r.seq, r.at, r.type, dict(r.data)) for r in rows]
