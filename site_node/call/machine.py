"""The call state machine: one :class:`Call` per call, one chokepoint :meth:`Call.apply`.

::

    new --start_ivr--> in_ivr --enqueue--> queued --offer_to_agent--> offered --answer--> connected
    new --enqueue--> queued                 queued --requeue--> queued (overflow)
    new --outbound_dial--> offered (C5f)    offered --offer_failed--> queued (keeps its place)
    connected <--hold/retrieve--> held
    connected|held --consult_start--> consulting --consult_complete|consult_cancel|conference-->
        connected (C5d)
    connected|held --transfer_to_ivr--> in_ivr (C5b, permanent)
    connected|held --temporary_ivr--> in_ivr_temporary --return_from_ivr--> connected, same agent
    connected|held --blind_transfer--> queued (C5e, another skill's queue)
    any live state but offered/consulting/in_ivr_temporary --start_transfer--> transferring
        --transfer_completed--> ended(transferred_out) | --transfer_failed--> previous state
    any live state --hangup--> ended (reason derived) | --end(reason)--> ended (reason checked)
    ended --wrap_up_ended--> ended (fills wrap_up_end_at)

``set_data`` and ``add_action`` are legal in every live state: even data changes pass the
chokepoint. Timestamps kept for the CDR: ``ivr_start_at``/``ivr_end_at`` are the first IVR
session, ``queued_at`` the first queue entry, ``offered_at`` the offer that was answered (or the
last one), ``answered_at`` the first answer; ``hold_total_s`` sums held and consulting time.
"""

from __future__ import annotations

import logging
from typing import Any

from cluster.logs import log

from .data import CallData
from .errors import CallEventInvalid, IllegalCallTransition
from .events import (
    AddAction,
    Answer,
    BlindTransfer,
    CallEvent,
    CallState,
    CallTransition,
    Conference,
    ConsultCancel,
    ConsultComplete,
    ConsultStart,
    Direction,
    End,
    EndReason,
    Enqueue,
    Hangup,
    Hold,
    LeaveConference,
    OfferFailed,
    OfferToAgent,
    OutboundDial,
    Requeue,
    ResumedAfterFailover,
    Retrieve,
    ReturnFromIvr,
    SetData,
    StartIvr,
    StartTransfer,
    TemporaryIvr,
    TransferCompleted,
    TransferFailed,
    TransferToIvr,
    WrapUpEnded,
    event_name,
)

_log = logging.getLogger("site_node.call")
S = CallState
R = EndReason

_DATA = {SetData, AddAction, Hangup, End, ResumedAfterFailover}
_AGENT_MOVES = {TransferToIvr, TemporaryIvr, BlindTransfer, StartTransfer, LeaveConference}

LEGAL: dict[CallState, frozenset[type]] = {
    S.NEW: frozenset({StartIvr, Enqueue, OutboundDial, StartTransfer, *_DATA}),
    S.IN_IVR: frozenset({Enqueue, StartTransfer, *_DATA}),
    S.QUEUED: frozenset({Requeue, OfferToAgent, StartTransfer, *_DATA}),
    S.OFFERED: frozenset({Answer, OfferFailed, *_DATA}),
    S.CONNECTED: frozenset({Hold, ConsultStart, *_AGENT_MOVES, *_DATA}),
    S.HELD: frozenset({Retrieve, ConsultStart, *_AGENT_MOVES, *_DATA}),
    S.CONSULTING: frozenset({ConsultComplete, ConsultCancel, Conference, *_DATA}),
    S.IN_IVR_TEMPORARY: frozenset({ReturnFromIvr, *_DATA}),
    S.TRANSFERRING: frozenset({TransferCompleted, TransferFailed, *_DATA}),
    S.ENDED: frozenset({WrapUpEnded}),
}

_ANY_LIVE = frozenset(s for s in CallState if s is not S.ENDED)
END_ALLOWED: dict[EndReason, frozenset[CallState]] = {
    R.ANSWERED_COMPLETED: _ANY_LIVE,  # and answered_at must be set
    R.ABANDONED_IN_IVR: frozenset({S.NEW, S.IN_IVR}),
    R.NEVER_JOINED: frozenset({S.NEW}),
    R.ABANDONED_IN_QUEUE: frozenset({S.QUEUED, S.OFFERED}),
    R.VOICEMAIL: frozenset({S.IN_IVR, S.QUEUED}),
    R.CALLBACK_REQUESTED: frozenset({S.IN_IVR, S.QUEUED}),
    R.TRANSFERRED_OUT: frozenset({S.TRANSFERRING}),
    R.FAILED_OVER: _ANY_LIVE,
    R.REJECTED: frozenset({S.NEW, S.IN_IVR, S.QUEUED, S.OFFERED}),
    R.ERROR: _ANY_LIVE,
}

_HOLDING = frozenset({S.HELD, S.CONSULTING})


class Call:
    """One call's state, timestamps and attached data. Change it only through :meth:`apply`."""

    def __init__(
        self,
        call_id: str,
        *,
        site: str,
        caller_number: str,
        dialled_number: str,
        now: float,
        direction: Direction = Direction.INBOUND,
        priority: int = 0,
        original_arrival_at: float | None = None,
        data: CallData | None = None,
    ) -> None:
        self.call_id = call_id
        self.site = site
        self.direction = direction
        self.caller_number = caller_number
        self.dialled_number = dialled_number
        self.state = S.NEW
        self.data = data if data is not None else CallData()
        self.queue: str | None = None
        self.skill: str | None = None
        self.priority = priority
        self.flow_id: str | None = None
        self.flow_version: int | None = None
        self.arrival_at = now
        self.original_arrival_at = now if original_arrival_at is None else original_arrival_at
        self.ivr_start_at: float | None = None
        self.ivr_end_at: float | None = None
        self.queued_at: float | None = None
        self.offered_at: float | None = None
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.wrap_up_end_at: float | None = None
        self.hold_total_s = 0.0
        self.hold_started_at: float | None = None
        self.transfers = 0
        self.failovers = 0
        self.callback_requested = False
        self.end_reason: EndReason | None = None
        self.agent_id: str | None = None  # the agent connected now (or the last one)
        self.offered_agent_id: str | None = None
        self.consult_agent_id: str | None = None
        self.conference_agent_ids: tuple[str, ...] = ()
        self.transfer_target: str | None = None
        self.state_before_transfer: CallState | None = None
        self.resumed_from: str | None = None  # state at the failed site, after failover
        self.first_site = site  # where the call first arrived (it may end elsewhere)
        self.failover_gap_s = 0.0  # talking calls: time lost between the move and the resume
        self.ivr_path: str | None = None  # JSON of the IVR nodes left (cluster.ivr_path)
        self.moves: list[dict[str, Any]] = []  # each move between sites: at, from, to, why

    # ---- derived -------------------------------------------------------------------------
    @property
    def is_ended(self) -> bool:
        return self.state is S.ENDED

    def hold_total(self, now: float) -> float:
        """Hold time so far, counting a hold still in progress."""
        running = 0.0 if self.hold_started_at is None else now - self.hold_started_at
        return self.hold_total_s + running

    # ---- the chokepoint ------------------------------------------------------------------
    def apply(self, event: CallEvent, now: float) -> CallTransition:
        """Validate ``event``, change state and data, log ``old -> new``, return the record."""
        old = self.state
        if type(event) not in LEGAL[old]:
            raise IllegalCallTransition(
                f"call {self.call_id}: {event_name(event)} is not allowed in state {old}",
                call_id=self.call_id,
                state=old.value,
                event=event_name(event),
            )
        self._check(event)
        self._change(event, now)
        if old not in _HOLDING and self.state in _HOLDING:
            self.hold_started_at = now
        elif old in _HOLDING and self.state not in _HOLDING and self.hold_started_at is not None:
            self.hold_total_s += now - self.hold_started_at
            self.hold_started_at = None
        if old is S.IN_IVR and self.state is not S.IN_IVR and self.ivr_end_at is None:
            self.ivr_end_at = now
        record = CallTransition(
            call_id=self.call_id,
            event=event_name(event),
            old=old,
            new=self.state,
            at=now,
            agent_id=self.agent_id,
            queue=self.queue,
            end_reason=self.end_reason,
        )
        if old is not self.state:
            log(
                _log,
                logging.INFO,
                f"call {self.call_id} {old} -> {self.state}",
                call_id=self.call_id,
                event=record.event,
                agent_id=self.agent_id,
                queue=self.queue,
                end_reason=None if self.end_reason is None else self.end_reason.value,
            )
        return record

    # ---- validation (no mutation) --------------------------------------------------------
    def _bad(self, message: str) -> CallEventInvalid:
        return CallEventInvalid(f"call {self.call_id}: {message}", call_id=self.call_id)

    def derived_end_reason(self) -> EndReason:
        """What a hang-up in the current state means for the CDR."""
        state = self.state_before_transfer if self.state is S.TRANSFERRING else self.state
        if self.answered_at is not None:
            return R.ANSWERED_COMPLETED
        if self.direction is Direction.OUTBOUND:
            return R.REJECTED
        if state in (S.NEW, S.IN_IVR):
            return R.ABANDONED_IN_IVR
        return R.ABANDONED_IN_QUEUE

    def _check(self, event: CallEvent) -> None:
        match event:
            case End(reason=reason):
                if self.state not in END_ALLOWED[reason]:
                    raise self._bad(f"end reason {reason} is not possible in state {self.state}")
                if reason is R.ANSWERED_COMPLETED and self.answered_at is None:
                    raise self._bad("the call was never answered")
            case OfferFailed() if self.queue is None:
                raise self._bad("an outbound call cannot go back to a queue; end it instead")
            case ConsultStart(agent_id=agent) if agent == self.agent_id:
                raise self._bad("cannot consult the agent already on the call")
            case LeaveConference(agent_id=agent) if agent not in self.conference_agent_ids:
                raise self._bad(f"agent {agent} is not in a conference on this call")
            case WrapUpEnded() if self.answered_at is None or self.wrap_up_end_at is not None:
                raise self._bad("no wrap-up to end for this call")
            case Enqueue(priority=p) | BlindTransfer(priority=p) | Requeue(priority=p):
                if p is not None and not isinstance(p, int):
                    raise self._bad("priority must be an integer")
            case SetData(section=section, key=key, value=value):
                CallData().set_value(section, key, value)  # raises on sensitive / bad data
            case _:
                pass

    # ---- change (validated already) ------------------------------------------------------
    def _history(self, kind: str, now: float, **fields: Any) -> None:
        entry: dict[str, Any] = {"kind": kind, "at": now, "site": self.site}
        entry.update(fields)
        self.data.transfer_history.append(entry)

    def _end(self, reason: EndReason, now: float) -> None:
        self.state, self.end_reason, self.ended_at = S.ENDED, reason, now
        if reason is R.CALLBACK_REQUESTED:
            self.callback_requested = True
        self.consult_agent_id = None

    def _to_queue(self, queue: str, skill: str, priority: int | None, now: float) -> None:
        self.queue, self.skill = queue, skill
        if priority is not None:
            self.priority = priority
        if self.queued_at is None:
            self.queued_at = now
        self.state = S.QUEUED

    def _change(self, event: CallEvent, now: float) -> None:
        agent = self.agent_id
        match event:
            case StartIvr(flow_id=flow, flow_version=version):
                self.flow_id, self.flow_version, self.state = flow, version, S.IN_IVR
                if self.ivr_start_at is None:
                    self.ivr_start_at = now
            case Enqueue(queue=queue, skill=skill, priority=priority):
                self._to_queue(queue, skill, priority, now)
            case Requeue(queue=queue, skill=skill, priority=priority):
                self._history("overflow", now, from_queue=self.queue, to_queue=queue)
                self._to_queue(queue, skill, priority, now)
            case OfferToAgent(agent_id=offered):
                self.offered_agent_id, self.state = offered, S.OFFERED
                if self.answered_at is None:
                    self.offered_at = now
            case OfferFailed():
                self.offered_agent_id, self.state = None, S.QUEUED
            case OutboundDial(agent_id=dialler):
                self.agent_id = self.offered_agent_id = dialler
                self.offered_at, self.state = now, S.OFFERED
            case Answer():
                self.agent_id, self.offered_agent_id = self.offered_agent_id, None
                self.conference_agent_ids = ()
                if self.answered_at is None:
                    self.answered_at = now
                self.state = S.CONNECTED
            case Hold():
                self.state = S.HELD
            case Retrieve():
                self.state = S.CONNECTED
            case ConsultStart(agent_id=target):
                self.consult_agent_id, self.state = target, S.CONSULTING
                self._history("consult", now, from_agent=agent, to_agent=target)
            case ConsultComplete():
                self._history("consult_transfer", now, from_agent=agent,
                              to_agent=self.consult_agent_id)
                self.agent_id, self.consult_agent_id = self.consult_agent_id, None
                self.transfers += 1
                self.state = S.CONNECTED
            case ConsultCancel():
                self._history("consult_cancelled", now, from_agent=agent,
                              to_agent=self.consult_agent_id)
                self.consult_agent_id, self.state = None, S.CONNECTED
            case Conference():
                second = self.consult_agent_id
                self._history("conference", now, from_agent=agent, to_agent=second)
                self.conference_agent_ids = tuple(a for a in (agent, second) if a is not None)
                self.consult_agent_id, self.state = None, S.CONNECTED
            case LeaveConference(agent_id=leaving):
                rest = tuple(a for a in self.conference_agent_ids if a != leaving)
                if leaving == agent and rest:
                    self.agent_id = rest[0]
                    self.transfers += 1
                    self._history("conference_handover", now, from_agent=leaving,
                                  to_agent=rest[0])
                self.conference_agent_ids = rest if len(rest) > 1 else ()
            case TransferToIvr(flow_id=flow, flow_version=version):
                self._history("to_ivr", now, from_agent=agent, to_flow=flow)
                self.flow_id, self.flow_version = flow, version
                self.transfers += 1
                self.conference_agent_ids = ()
                self.state = S.IN_IVR
            case TemporaryIvr(flow_id=flow, purpose=purpose):
                self._history("temporary_ivr", now, from_agent=agent, to_flow=flow,
                              purpose=purpose)
                self.state = S.IN_IVR_TEMPORARY
            case ReturnFromIvr():
                self._history("return_from_ivr", now, to_agent=agent)
                self.state = S.CONNECTED
            case BlindTransfer(queue=queue, skill=skill, priority=priority):
                self._history("blind", now, from_agent=agent, to_queue=queue)
                self.transfers += 1
                self.conference_agent_ids = ()
                self._to_queue(queue, skill, priority, now)
            case StartTransfer(target=target):
                self.transfer_target, self.state_before_transfer = target, self.state
                self.state = S.TRANSFERRING
            case TransferCompleted():
                self._history("transfer_out", now, from_agent=agent, target=self.transfer_target)
                self.transfers += 1
                self._end(R.TRANSFERRED_OUT, now)
            case TransferFailed():
                self._history("transfer_failed", now, target=self.transfer_target)
                self.state = self.state_before_transfer or S.NEW
                self.transfer_target = self.state_before_transfer = None
            case SetData(section=section, key=key, value=value):
                self.data.set_value(section, key, value)
            case AddAction(action=action):
                self.data.actions.append(action)
            case Hangup():
                self._end(self.derived_end_reason(), now)
            case End(reason=reason):
                self._end(reason, now)
            case ResumedAfterFailover(lost_at=lost_at):
                self.failover_gap_s += max(0.0, now - lost_at)
            case WrapUpEnded():
                self.wrap_up_end_at = now
