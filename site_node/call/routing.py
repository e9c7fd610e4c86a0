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


def record_view(call: Call) -> dict[str, Any]:
    """Every field of the routing record the owning site writes, from the call alone."""
    view: dict[str, Any] = {
        "state": record_state(call.state),
        "agent_id": record_agent(call),
        "priority": int(call.priority),
        "data": call.data.to_dict(),
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
    return call
