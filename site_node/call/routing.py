"""The call's routing record in etcd, seen from the call machine (pure).

The record's state is not a second machine: it is derived from the call's state by
:func:`record_state`, and every field the site writes comes from :func:`record_view`. A call
that arrives at a site (routed there, or moved there by a failover) is built from its record
in one place, :func:`call_from_record`.
"""

from __future__ import annotations

from typing import Any

from cluster.callrecords import CallRecord, RecordState

from .data import CallData
from .events import CallState
from .machine import Call

_RECORD_STATE: dict[CallState, RecordState] = {
    CallState.NEW: RecordState.ROUTED,
    CallState.IN_IVR: RecordState.IVR,
    CallState.QUEUED: RecordState.QUEUED,
    CallState.OFFERED: RecordState.OFFERED,
    CallState.CONNECTED: RecordState.CONNECTED,
    CallState.HELD: RecordState.HELD,
    CallState.CONSULTING: RecordState.CONSULTING,
    CallState.IN_IVR_TEMPORARY: RecordState.TEMPORARY_IVR,
    CallState.TRANSFERRING: RecordState.TRANSFERRING,
    CallState.ENDED: RecordState.ENDED,
}


def record_state(state: CallState) -> RecordState:
    """The routing record's state for a call in ``state`` (total over :class:`CallState`)."""
    return _RECORD_STATE[state]


def record_agent(call: Call) -> str | None:
    """The agent failover must bring the caller back to: the one ringing or talking."""
    state = record_state(call.state)
    if state is RecordState.OFFERED:
        return call.offered_agent_id
    if state in (RecordState.CONNECTED, RecordState.HELD, RecordState.CONSULTING, RecordState.TEMPORARY_IVR):
        return call.agent_id
    return None


HISTORY_TIMES = ("arrival_at", "ivr_start_at", "ivr_end_at", "queued_at", "offered_at", "answered_at")


def record_view(call: Call, now: float) -> dict[str, Any]:
    """Every field of the routing record the owning site writes, from the call alone."""
    view: dict[str, Any] = {
        "state": record_state(call.state),
        "agent_id": record_agent(call),
        "priority": int(call.priority),
        "data": call.data.to_dict(),
        "history": {
            "first_site": call.first_site,
            **{name: getattr(call, name) for name in HISTORY_TIMES},
            "hold_total_s": round(call.hold_total(now), 3),
            "failover_gap_s": round(call.failover_gap_s, 3),
            "moves": list(call.moves),
        },
    }
    if call.queue is not None:
        view["queue"] = call.queue
    if call.skill is not None:
        view["skill"] = call.skill
    kind, _, target = (call.transfer_target or "").partition(":")
    view["transfer_to"] = target if view["state"] is RecordState.TRANSFERRING and kind == "site" else None
    return view


def call_from_record(record: CallRecord, *, site: str, now: float) -> Call:
    """The call as it starts at ``site``: routed here, or moved here by a failover.

    Same id, caller, attached data, priority and original arrival (queued calls keep their
    place); ``failovers`` as central counted them; ``resumed_from`` is where the call was at
    the failed site (``None`` for a first arrival). Per-site timestamps start again here.
    """
    call = Call(
        record.call_id,
        site=site,
        caller_number=record.caller,
        dialled_number=record.dialled,
        now=now,
        priority=record.priority,
        original_arrival_at=record.original_arrival_at,
        data=CallData.from_dict(record.data) if record.data else None,
    )
    call.failovers = record.failovers
    if record.state == RecordState.MOVING and record.state_before_move is not None:
        call.resumed_from = str(record.state_before_move)
    _carry_history(call, record.history)
    return call


def _carry_history(call: Call, history: dict[str, Any]) -> None:
    """The call's story at earlier sites continues here: the CDR describes the whole call."""
    if not history:
        return
    for name in HISTORY_TIMES:
        if history.get(name) is not None:
            setattr(call, name, float(history[name]))
    call.first_site = str(history.get("first_site") or call.first_site)
    call.hold_total_s = float(history.get("hold_total_s") or 0.0)
    call.failover_gap_s = float(history.get("failover_gap_s") or 0.0)
    call.moves = [dict(m) for m in history.get("moves") or ()]


def lost_at(call: Call) -> float | None:
    """When the call was lost at its last site (central's reckoning; else when it was moved),
    the start of its failover gap; ``None`` if it was never moved."""
    if not call.moves:
        return None
    at = call.moves[-1].get("lost_at", call.moves[-1].get("at"))
    return None if at is None else float(at)
