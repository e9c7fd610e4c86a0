"""Call detail records and JSON-safe snapshots of a call.

:func:`to_cdr` gives exactly :data:`CDR_KEYS` (the storage and statistics engineers rely on
them). :func:`to_record` / :func:`from_record` round-trip a call exactly (snapshots). The
call's routing record in etcd is :mod:`site_node.call.routing`.
"""

from __future__ import annotations

from typing import Any

from cluster.cdr import CDR_COLUMNS

from .data import CallData
from .errors import CallRecordInvalid
from .events import CallState, Direction, EndReason
from .machine import Call

CDR_KEYS: tuple[str, ...] = tuple(CDR_COLUMNS)

_TIMES = (
    "original_arrival_at",
    "arrival_at",
    "ivr_start_at",
    "ivr_end_at",
    "queued_at",
    "offered_at",
    "answered_at",
    "ended_at",
    "wrap_up_end_at",
    "hold_started_at",
)
_PLAIN = (
    "call_id",
    "site",
    "caller_number",
    "dialled_number",
    "queue",
    "skill",
    "flow_id",
    "agent_id",
    "offered_agent_id",
    "consult_agent_id",
    "transfer_target",
    "resumed_from",
    "ivr_path",
)
RECORD_VERSION = 1


def _time(value: float | None) -> float | None:
    return None if value is None else float(value)


def to_cdr(call: Call) -> dict[str, Any]:
    """The call detail record (M1). ``end_reason`` is ``None`` only while the call is live."""
    return {
        "call_id": call.call_id,
        "site": call.site,
        "queue": call.queue,
        "skill": call.skill,
        "priority": int(call.priority),
        "caller_number": call.caller_number,
        "dialled_number": call.dialled_number,
        "customer_id": call.data.customer_id,
        "agent_id": call.agent_id,
        "flow_id": call.flow_id,
        "flow_version": call.flow_version,
        "original_arrival_at": _time(call.original_arrival_at),
        "arrival_at": _time(call.arrival_at),
        "ivr_start_at": _time(call.ivr_start_at),
        "ivr_end_at": _time(call.ivr_end_at),
        "queued_at": _time(call.queued_at),
        "offered_at": _time(call.offered_at),
        "answered_at": _time(call.answered_at),
        "ended_at": _time(call.ended_at),
        "wrap_up_end_at": _time(call.wrap_up_end_at),
        "hold_total_s": float(call.hold_total_s),
        "transfers": int(call.transfers),
        "failovers": int(call.failovers),
        "callback_requested": bool(call.callback_requested),
        "end_reason": None if call.end_reason is None else call.end_reason.value,
        "resumed_from": call.resumed_from,
        "first_site": call.first_site,
        "failover_gap_s": round(float(call.failover_gap_s), 3),
        "ivr_path": call.ivr_path,
    }


def to_record(call: Call) -> dict[str, Any]:
    """A JSON-safe snapshot holding everything needed to re-create the call."""
    record: dict[str, Any] = {"record_version": RECORD_VERSION}
    for name in _PLAIN:
        record[name] = getattr(call, name)
    for name in _TIMES:
        record[name] = _time(getattr(call, name))
    record.update(
        state=call.state.value,
        direction=call.direction.value,
        priority=int(call.priority),
        flow_version=call.flow_version,
        hold_total_s=float(call.hold_total_s),
        transfers=int(call.transfers),
        failovers=int(call.failovers),
        callback_requested=bool(call.callback_requested),
        end_reason=None if call.end_reason is None else call.end_reason.value,
        conference_agent_ids=list(call.conference_agent_ids),
        state_before_transfer=(
            None if call.state_before_transfer is None else call.state_before_transfer.value
        ),
        data=call.data.to_dict(),
    )
    return record


def from_record(record: dict[str, Any]) -> Call:
    """Exactly the call that :func:`to_record` described."""
    try:
        call = Call(
            str(record["call_id"]),
            site=str(record["site"]),
            caller_number=str(record["caller_number"]),
            dialled_number=str(record["dialled_number"]),
            now=float(record["arrival_at"]),
            direction=Direction(record.get("direction", "inbound")),
            priority=int(record.get("priority", 0)),
            original_arrival_at=float(record["original_arrival_at"]),
            data=CallData.from_dict(dict(record.get("data") or {})),
        )
        for name in _PLAIN:
            setattr(call, name, record.get(name))
        for name in _TIMES:
            if name in record:
                setattr(call, name, _time(record[name]))
        call.state = CallState(record.get("state", "new"))
        version = record.get("flow_version")
        call.flow_version = None if version is None else int(version)
        call.hold_total_s = float(record.get("hold_total_s", 0.0))
        call.transfers = int(record.get("transfers", 0))
        call.failovers = int(record.get("failovers", 0))
        call.callback_requested = bool(record.get("callback_requested", False))
        reason = record.get("end_reason")
        call.end_reason = None if reason is None else EndReason(reason)
        call.conference_agent_ids = tuple(record.get("conference_agent_ids") or ())
        before = record.get("state_before_transfer")
        call.state_before_transfer = None if before is None else CallState(before)
    except (KeyError, TypeError, ValueError) as exc:
        raise CallRecordInvalid(f"call record cannot be restored: {exc!r}") from exc
    return call
