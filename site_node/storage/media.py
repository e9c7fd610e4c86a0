"""Recordings metadata (A6), voicemail (V5) and callbacks (C6)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import delete, select, update

from site_node.storage._base import Repository
from site_node.storage.calls import _to_record
from site_node.storage.errors import NotFound, StorageError
from site_node.storage.hashing import normalise_phone
from site_node.storage.models import CALLBACK_STATES, Call, Callback, Recording, Voicemail
from site_node.storage.records import CallbackRequest, CallDetailRecord, RecordingMeta, VoicemailMessage

_REC_FIELDS = (
    "call_id",
    "path",
    "format",
    "channels",
    "started_at",
    "ended_at",
    "duration_s",
    "paused_s",
    "legal_hold",
)
_VM_FIELDS = (
    "call_id",
    "customer_id",
    "caller_number",
    "queue",
    "path",
    "duration_s",
    "created_at",
    "heard",
)
_CB_FIELDS = (
    "phone",
    "customer_id",
    "call_id",
    "site",
    "queue",
    "requested_at",
    "due_at",
    "state",
    "attempts",
    "updated_at",
)


def _fields(record: object, names: tuple[str, ...]) -> dict[str, object]:
    data = asdict(record)  # type: ignore[call-overload]
    return {name: data[name] for name in names}


def _recording(row: Recording) -> RecordingMeta:
    return RecordingMeta(id=row.id, **{n: getattr(row, n) for n in _REC_FIELDS})


def _voicemail(row: Voicemail) -> VoicemailMessage:
    return VoicemailMessage(id=row.id, **{n: getattr(row, n) for n in _VM_FIELDS})


def _callback(row: Callback) -> CallbackRequest:
    return CallbackRequest(id=row.id, **{n: getattr(row, n) for n in _CB_FIELDS})


class RecordingRepository(Repository):
    async def add_recording(self, meta: RecordingMeta) -> int:
        async with self._transaction("add_recording") as session:
            row = Recording(**_fields(meta, _REC_FIELDS))
            session.add(row)
            await session.flush()
            return row.id

    async def finish_recording(
        self, recording_id: int, *, ended_at: float, duration_s: float, paused_s: float = 0.0
    ) -> None:
        stmt = (
            update(Recording)
            .where(Recording.id == recording_id)
            .values(ended_at=ended_at, duration_s=duration_s, paused_s=paused_s)
        )
        async with self._transaction("finish_recording") as session:
            if (await session.execute(stmt)).rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"recording {recording_id} does not exist")

    async def recording(self, recording_id: int) -> RecordingMeta:
        async with self._transaction("recording") as session:
            row = await session.get(Recording, recording_id)
            if row is None:
                raise NotFound(f"recording {recording_id} does not exist")
            return _recording(row)

    async def recordings_for_call(self, call_id: str) -> list[RecordingMeta]:
        query = select(Recording).where(Recording.call_id == call_id).order_by(Recording.id)
        async with self._transaction("recordings_for_call") as session:
            return [_recording(r) for r in (await session.scalars(query)).all()]

    async def search(
        self,
        start: float,
        end: float,
        *,
        queue: str | None = None,
        agent_id: str | None = None,
        customer_id: str | None = None,
        outcome: str | None = None,
        min_duration_s: float | None = None,
        max_duration_s: float | None = None,
        limit: int = 100,
    ) -> list[tuple[RecordingMeta, CallDetailRecord | None]]:
        """Finished recordings started in ``[start, end)`` with this site's CDR of their call,
        oldest first; the CDR filters (queue, agent, customer, outcome = ``end_reason``) leave
        out recordings whose call has no CDR here."""
        query = (
            select(Recording, Call)
            .outerjoin(Call, Call.call_id == Recording.call_id)
            .where(Recording.started_at >= start, Recording.started_at < end, Recording.duration_s.is_not(None))
        )
        for column, value in ((Call.queue, queue), (Call.agent_id, agent_id), (Call.customer_id, customer_id),
                              (Call.end_reason, outcome)):  # fmt: skip
            if value is not None:
                query = query.where(column == value)
        if min_duration_s is not None:
            query = query.where(Recording.duration_s >= min_duration_s)
        if max_duration_s is not None:
            query = query.where(Recording.duration_s <= max_duration_s)
        query = query.order_by(Recording.started_at, Recording.id).limit(limit)
        async with self._transaction("search_recordings") as session:
            rows = (await session.execute(query)).all()
            return [(_recording(rec), None if call is None else _to_record(call)) for rec, call in rows]

    async def set_legal_hold(self, recording_id: int, held: bool) -> None:
        stmt = update(Recording).where(Recording.id == recording_id).values(legal_hold=held)
        async with self._transaction("set_legal_hold") as session:
            if (await session.execute(stmt)).rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"recording {recording_id} does not exist")

    async def retention_candidates(self, before: float, *, limit: int = 500) -> list[tuple[RecordingMeta, str | None]]:
        """Finished recordings not on hold that started before ``before``, with their call's queue."""
        query = (
            select(Recording, Call.queue)
            .outerjoin(Call, Call.call_id == Recording.call_id)
            .where(Recording.started_at < before, Recording.legal_hold.is_(False), Recording.ended_at.is_not(None))
            .order_by(Recording.started_at, Recording.id)
            .limit(limit)
        )
        async with self._transaction("retention_candidates") as session:
            return [(_recording(rec), queue) for rec, queue in (await session.execute(query)).all()]

    async def delete_recording(self, recording_id: int) -> bool:
        """Remove the row unless it is on hold (a hold placed meanwhile wins); whether it went."""
        stmt = delete(Recording).where(Recording.id == recording_id, Recording.legal_hold.is_(False))
        async with self._transaction("delete_recording") as session:
            return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


class VoicemailRepository(Repository):
    async def add_voicemail(self, message: VoicemailMessage) -> int:
        async with self._transaction("add_voicemail") as session:
            row = Voicemail(**_fields(message, _VM_FIELDS))
            session.add(row)
            await session.flush()
            return row.id

    async def voicemail(self, voicemail_id: int) -> VoicemailMessage:
        async with self._transaction("voicemail") as session:
            row = await session.get(Voicemail, voicemail_id)
            if row is None:
                raise NotFound(f"voicemail {voicemail_id} does not exist")
            return _voicemail(row)

    async def list_voicemail(self, *, heard: bool | None = None, limit: int = 100) -> list[VoicemailMessage]:
        query = select(Voicemail).order_by(Voicemail.created_at, Voicemail.id).limit(limit)
        if heard is not None:
            query = query.where(Voicemail.heard == heard)
        async with self._transaction("list_voicemail") as session:
            return [_voicemail(r) for r in (await session.scalars(query)).all()]

    async def mark_heard(self, voicemail_id: int) -> None:
        stmt = update(Voicemail).where(Voicemail.id == voicemail_id).values(heard=True)
        async with self._transaction("mark_heard") as session:
            if (await session.execute(stmt)).rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"voicemail {voicemail_id} does not exist")


class CallbackRepository(Repository):
    async def request_callback(self, request: CallbackRequest) -> int:
        values = _fields(request, _CB_FIELDS)
        values["phone"] = normalise_phone(request.phone)
        async with self._transaction("request_callback") as session:
            row = Callback(**values)
            session.add(row)
            await session.flush()
            return row.id

    async def claim_due(self, now: float, *, site: str | None = None, limit: int = 10) -> list[CallbackRequest]:
        """Move due ``pending`` callbacks to ``dialling`` and return them.

        Each row is claimed with a compare-and-set on its state, so two dialers never claim
        the same callback.
        """
        query = (
            select(Callback.id)
            .where(Callback.state == "pending", Callback.due_at <= now)
            .order_by(Callback.due_at, Callback.id)
            .limit(limit)
        )
        if site is not None:
            query = query.where(Callback.site == site)
        claimed: list[CallbackRequest] = []
        async with self._transaction("claim_due_callbacks") as session:
            for callback_id in (await session.scalars(query)).all():
                result = await session.execute(
                    update(Callback)
                    .where(Callback.id == callback_id, Callback.state == "pending")
                    .values(state="dialling", attempts=Callback.attempts + 1, updated_at=now)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    row = await session.get(Callback, callback_id, populate_existing=True)
                    if row is not None:
                        claimed.append(_callback(row))
        return claimed

    async def set_state(self, callback_id: int, state: str, *, at: float) -> None:
        if state not in CALLBACK_STATES:
            raise StorageError(
                f"callbacks: state {state!r} is not one of {CALLBACK_STATES}",
                error_id="storage.bad_value",
                status=400,
            )
        stmt = update(Callback).where(Callback.id == callback_id).values(state=state, updated_at=at)
        async with self._transaction("set_callback_state") as session:
            if (await session.execute(stmt)).rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"callback {callback_id} does not exist")

    async def callbacks(self, *, state: str | None = None, limit: int = 100) -> list[CallbackRequest]:
        query = select(Callback).order_by(Callback.due_at, Callback.id).limit(limit)
        if state is not None:
            query = query.where(Callback.state == state)
        async with self._transaction("callbacks") as session:
            return [_callback(r) for r in (await session.scalars(query)).all()]
