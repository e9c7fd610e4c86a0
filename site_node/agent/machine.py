"""The agent state machine: one object per logged-in agent, one chokepoint :meth:`Agent.apply`.

Legal moves (anything else raises :class:`IllegalAgentTransition` and changes nothing)::

    logged_out      --login-->            not_ready (reason "login") | ready
    not_ready       --set_ready-->        ready            (idle_since = now)
    ready|not_ready --set_not_ready-->    not_ready        (reason code)
    ready|not_ready --logout-->           logged_out
    ready           --offer-->            reserved         (ring deadline = now + ring timeout)
    reserved        --answer-->           on_call
    reserved        --ring_timeout-->     not_ready ("missed")   --decline--> not_ready ("declined")
    reserved        --offer_cancelled-->  ready            (keeps its place in the idle order)
    on_call         --hold--> on_hold     --retrieve--> on_call
    on_hold         --dial-->             on_call          (consult leg while the caller holds)
    ready|not_ready|after_call_work --dial--> on_call      (outbound, C5f)
    on_call|on_hold --call_ended-->       after_call_work | on_call/on_hold (other calls remain)
                                          | ready/not_ready (wrap_up_s == 0)
    after_call_work --end_wrap_up | wrap_up_timeout--> ready | not_ready (pending reason)

Capacity (default 1): an agent busy on fewer interactions than its capacity may take one more
offer while ``on_call`` (multi-channel); the state stays ``on_call`` and the offer rings
alongside. ``set_not_ready`` while busy is remembered and applied when wrap-up ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from cluster.logs import log

from .errors import (
    AgentCapacityExceeded,
    AgentEventInvalid,
    AgentTimerNotDue,
    IllegalAgentTransition,
)
from .events import (
    DECLINED_REASON,
    MISSED_REASON,
    AgentEvent,
    AgentState,
    AgentTransition,
    Answer,
    CallEnded,
    Decline,
    Dial,
    EndWrapUp,
    Hold,
    Login,
    Logout,
    Offer,
    OfferCancelled,
    Retrieve,
    RingTimeout,
    SetNotReady,
    SetReady,
    SetWrapUp,
    WrapUpTimeout,
    event_name,
)

_log = logging.getLogger("site_node.agent")

S = AgentState
_BUSY = frozenset({S.ON_CALL, S.ON_HOLD})
_AVAILABLE = frozenset({S.READY, S.NOT_READY})

# event type -> states in which it is legal (finer checks happen in the handlers)
LEGAL: dict[type, frozenset[AgentState]] = {
    Login: frozenset({S.LOGGED_OUT}),
    Logout: _AVAILABLE,
    SetReady: frozenset({S.NOT_READY}),
    SetNotReady: frozenset({S.READY, S.NOT_READY, S.RESERVED, S.ON_CALL, S.ON_HOLD,
                            S.AFTER_CALL_WORK}),
    Offer: frozenset({S.READY, S.ON_CALL}),
    Answer: frozenset({S.RESERVED, S.ON_CALL}),
    RingTimeout: frozenset({S.RESERVED, S.ON_CALL}),
    Decline: frozenset({S.RESERVED, S.ON_CALL}),
    OfferCancelled: frozenset({S.RESERVED, S.ON_CALL}),
    Hold: frozenset({S.ON_CALL}),
    Retrieve: frozenset({S.ON_HOLD}),
    Dial: frozenset({S.READY, S.NOT_READY, S.AFTER_CALL_WORK, S.ON_HOLD}),
    CallEnded: _BUSY,
    SetWrapUp: frozenset({S.ON_CALL, S.ON_HOLD, S.AFTER_CALL_WORK}),
    EndWrapUp: frozenset({S.AFTER_CALL_WORK}),
    WrapUpTimeout: frozenset({S.AFTER_CALL_WORK}),
}


class Agent:
    """One agent's state. Read the attributes; change them only through :meth:`apply`."""

    __slots__ = (
        "agent_id",
        "call_ids",
        "capacity",
        "held_call_ids",
        "idle_since",
        "pending_reason",
        "reason",
        "ring_deadline",
        "ringing_call_id",
        "state",
        "wrap_up_code",
        "wrap_up_deadline",
        "wrap_up_notes",
    )

    def __init__(self, agent_id: str, *, capacity: int = 1) -> None:
        if capacity < 1:
            raise AgentEventInvalid(f"agent {agent_id}: capacity must be >= 1", agent_id=agent_id)
        self.agent_id = agent_id
        self.capacity = capacity
        self.state = S.LOGGED_OUT
        self.reason: str | None = None
        self.pending_reason: str | None = None
        self.idle_since: float | None = None
        self.call_ids: tuple[str, ...] = ()
        self.held_call_ids: frozenset[str] = frozenset()
        self.ringing_call_id: str | None = None
        self.ring_deadline: float | None = None
        self.wrap_up_deadline: float | None = None
        self.wrap_up_code: str | None = None
        self.wrap_up_notes: str = ""

    # ---- derived views -------------------------------------------------------------------
    @property
    def free_slots(self) -> int:
        return self.capacity - len(self.call_ids)

    @property
    def can_take_offer(self) -> bool:
        """Whether the ACD may offer this agent a new interaction now."""
        if self.state is S.READY:
            return True
        return self.state is S.ON_CALL and self.ringing_call_id is None and self.free_slots > 0

    @property
    def next_deadline(self) -> float | None:
        """The earliest timer the driver must schedule (ring-no-answer or wrap-up)."""
        if self.ringing_call_id is not None:
            return self.ring_deadline
        if self.state is S.AFTER_CALL_WORK:
            return self.wrap_up_deadline
        return None

    def due_event(self, now: float) -> AgentEvent | None:
        """The timer event due at ``now`` (ring timeout first), if any."""
        if self.ringing_call_id is not None and self.ring_deadline is not None:
            if now >= self.ring_deadline:
                return RingTimeout(self.ringing_call_id)
            return None
        if self.state is S.AFTER_CALL_WORK and self.wrap_up_deadline is not None:
            if now >= self.wrap_up_deadline:
                return WrapUpTimeout()
        return None

    def snapshot(self) -> dict[str, object]:
        return {
            "agent_id": self.agent_id,
            "state": self.state.value,
            "reason": self.reason,
            "idle_since": self.idle_since,
            "call_ids": list(self.call_ids),
            "ringing_call_id": self.ringing_call_id,
            "capacity": self.capacity,
            "wrap_up_code": self.wrap_up_code,
        }

    # ---- the chokepoint ------------------------------------------------------------------
    def apply(self, event: AgentEvent, now: float) -> AgentTransition:
        """Validate ``event``, change state, log ``old -> new`` and return the record."""
        old = self.state
        legal = LEGAL.get(type(event))
        if legal is None or old not in legal:
            raise IllegalAgentTransition(
                f"agent {self.agent_id}: {event_name(event)} is not allowed in state {old}",
                agent_id=self.agent_id,
                state=old.value,
                event=event_name(event),
            )
        call_id = getattr(event, "call_id", None)
        self._check(event, now)
        self._change(event, now)
        record = AgentTransition(
            agent_id=self.agent_id,
            event=event_name(event),
            old=old,
            new=self.state,
            at=now,
            reason=self.reason,
            call_ids=self.call_ids,
            call_id=call_id,
        )
        log(
            _log,
            logging.INFO,
            f"agent {self.agent_id} {old} -> {self.state}",
            agent_id=self.agent_id,
            event=record.event,
            old=old.value,
            new=self.state.value,
            reason=self.reason,
            call_id=call_id,
        )
        return record

    # ---- validation (no mutation) --------------------------------------------------------
    def _bad(self, message: str) -> AgentEventInvalid:
        return AgentEventInvalid(f"agent {self.agent_id}: {message}", agent_id=self.agent_id)

    def _check(self, event: AgentEvent, now: float) -> None:
        match event:
            case SetNotReady(reason=reason) if not reason:
                raise self._bad("a not-ready reason code is required")
            case Offer(call_id=cid, ring_timeout_s=timeout):
                if timeout <= 0:
                    raise self._bad("ring timeout must be > 0")
                if cid in self.call_ids:
                    raise self._bad(f"call {cid} is already with this agent")
                if self.state is S.ON_CALL and not self.can_take_offer:
                    raise AgentCapacityExceeded(
                        f"agent {self.agent_id} is at capacity {self.capacity}",
                        agent_id=self.agent_id,
                    )
            case Answer(call_id=cid) | Decline(call_id=cid) | OfferCancelled(call_id=cid):
                if cid != self.ringing_call_id:
                    raise self._bad(f"call {cid} is not ringing here")
            case RingTimeout(call_id=cid):
                if cid != self.ringing_call_id:
                    raise self._bad(f"call {cid} is not ringing here")
                if self.ring_deadline is not None and now < self.ring_deadline:
                    raise AgentTimerNotDue(
                        f"agent {self.agent_id}: ring timer for {cid} is not due yet",
                        agent_id=self.agent_id,
                    )
            case Hold(call_id=cid):
                if cid not in self.call_ids or cid == self.ringing_call_id:
                    raise self._bad(f"call {cid} is not connected here")
                if cid in self.held_call_ids:
                    raise self._bad(f"call {cid} is already on hold")
            case Retrieve(call_id=cid):
                if cid not in self.held_call_ids:
                    raise self._bad(f"call {cid} is not on hold")
            case Dial(call_id=cid):
                if cid in self.call_ids and self.state is not S.ON_HOLD:
                    raise self._bad(f"call {cid} is already with this agent")
            case CallEnded(call_id=cid, wrap_up_s=wrap):
                if cid not in self.call_ids or cid == self.ringing_call_id:
                    raise self._bad(f"call {cid} is not connected here")
                if wrap is not None and wrap < 0:
                    raise self._bad("wrap-up seconds must be >= 0")
            case SetWrapUp(code=code) if not code:
                raise self._bad("a wrap-up code is required")
            case WrapUpTimeout():
                if self.wrap_up_deadline is None or now < self.wrap_up_deadline:
                    raise AgentTimerNotDue(
                        f"agent {self.agent_id}: wrap-up timer is not due", agent_id=self.agent_id
                    )
            case _:
                pass

    # ---- state change (validated already) ------------------------------------------------
    def _to_available(self, now: float) -> None:
        """End of work: ready (idle from now) or the remembered not-ready reason."""
        self.wrap_up_deadline = None
        if self.pending_reason is not None:
            self.state, self.reason, self.pending_reason = S.NOT_READY, self.pending_reason, None
        else:
            self.state, self.reason, self.idle_since = S.READY, None, now

    def _stop_ringing(self, cid: str) -> None:
        self.call_ids = tuple(c for c in self.call_ids if c != cid)
        self.ringing_call_id = None
        self.ring_deadline = None

    def _busy_state(self) -> AgentState:
        talking = [c for c in self.call_ids if c not in self.held_call_ids and
                   c != self.ringing_call_id]
        return S.ON_CALL if talking or not self.held_call_ids else S.ON_HOLD

    def _change(self, event: AgentEvent, now: float) -> None:
        match event:
            case Login(ready=ready, reason=reason):
                if ready:
                    self.state, self.reason, self.idle_since = S.READY, None, now
                else:
                    self.state, self.reason = S.NOT_READY, reason
            case Logout():
                self.state, self.reason, self.idle_since = S.LOGGED_OUT, None, None
                self.pending_reason = None
            case SetReady():
                self.state, self.reason, self.idle_since = S.READY, None, now
            case SetNotReady(reason=reason):
                if self.state in _AVAILABLE:
                    self.state, self.reason = S.NOT_READY, reason
                else:
                    self.pending_reason = reason
            case Offer(call_id=cid, ring_timeout_s=timeout):
                self.call_ids = (*self.call_ids, cid)
                self.ringing_call_id, self.ring_deadline = cid, now + timeout
                if self.state is S.READY:
                    self.state = S.RESERVED
            case Answer():
                self.ringing_call_id = self.ring_deadline = None
                self.state = S.ON_CALL
                self.wrap_up_code, self.wrap_up_notes = None, ""
            case RingTimeout(call_id=cid) | Decline(call_id=cid):
                why = MISSED_REASON if isinstance(event, RingTimeout) else DECLINED_REASON
                self._stop_ringing(cid)
                if self.state is S.RESERVED:
                    self.state, self.reason, self.pending_reason = S.NOT_READY, why, None
                else:
                    self.pending_reason = why
            case OfferCancelled(call_id=cid):
                self._stop_ringing(cid)
                if self.state is S.RESERVED and self.pending_reason is not None:
                    self.state, self.reason = S.NOT_READY, self.pending_reason
                    self.pending_reason = None
                elif self.state is S.RESERVED:
                    self.state = S.READY  # idle_since unchanged: keeps its place in line
            case Hold(call_id=cid):
                self.held_call_ids = self.held_call_ids | {cid}
                self.state = self._busy_state()
            case Retrieve(call_id=cid):
                self.held_call_ids = self.held_call_ids - {cid}
                self.state = S.ON_CALL
            case Dial(call_id=cid):
                if cid not in self.call_ids:
                    self.call_ids = (*self.call_ids, cid)
                if self.state is not S.ON_HOLD:
                    self.wrap_up_code, self.wrap_up_notes = None, ""
                self.held_call_ids = self.held_call_ids - {cid}
                self.state, self.reason, self.wrap_up_deadline = S.ON_CALL, None, None
            case CallEnded(call_id=cid, wrap_up_s=wrap):
                self.call_ids = tuple(c for c in self.call_ids if c != cid)
                self.held_call_ids = self.held_call_ids - {cid}
                if self.call_ids:
                    self.state = self._busy_state()
                elif wrap == 0:
                    self._to_available(now)
                else:
                    self.state = S.AFTER_CALL_WORK
                    self.wrap_up_deadline = None if wrap is None else now + wrap
            case SetWrapUp(code=code, notes=notes):
                self.wrap_up_code, self.wrap_up_notes = code, notes
            case EndWrapUp() | WrapUpTimeout():
                self._to_available(now)


def agents_by_state(agents: Iterable[Agent]) -> dict[str, int]:
    """Counts per state (every state present, zero included) for the site's load summary."""
    counts = {state.value: 0 for state in AgentState}
    for agent in agents:
        counts[agent.state.value] += 1
    return counts
