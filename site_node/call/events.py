"""Call states, end reasons and the events that move a call (plain immutable data)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CallState(StrEnum):
    NEW = "new"
    IN_IVR = "in_ivr"
    QUEUED = "queued"
    OFFERED = "offered"
    CONNECTED = "connected"
    HELD = "held"
    CONSULTING = "consulting"
    IN_IVR_TEMPORARY = "in_ivr_temporary"  # C5c: PIN / terms / read-out, then the same agent
    TRANSFERRING = "transferring"  # leaving this site/system (external number, other site)
    ENDED = "ended"


TALKING_STATES: frozenset[str] = frozenset({"connected", "held", "consulting", "in_ivr_temporary"})
"""States in which a caller is with an agent (a failover carries such a call on with its agent)."""


class EndReason(StrEnum):
    ANSWERED_COMPLETED = "answered_completed"
    ABANDONED_IN_IVR = "abandoned_in_ivr"
    NEVER_JOINED = "never_joined"  # routed here, the caller never joined: not an offered call
    ABANDONED_IN_QUEUE = "abandoned_in_queue"
    VOICEMAIL = "voicemail"
    CALLBACK_REQUESTED = "callback_requested"
    TRANSFERRED_OUT = "transferred_out"
    FAILED_OVER = "failed_over"
    REJECTED = "rejected"
    ERROR = "error"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True, slots=True)
class StartIvr:
    """Enter the IVR with the flow version the call will keep (V3)."""

    flow_id: str
    flow_version: int


@dataclass(frozen=True, slots=True)
class Enqueue:
    """C5a: ask for a human; wait in ``queue`` for ``skill``."""

    queue: str
    skill: str
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Requeue:
    """The ACD moved the waiting call (timed overflow / max-wait overflow) to ``queue``."""

    queue: str
    skill: str
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class OfferToAgent:
    agent_id: str


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """Ring-no-answer or decline: back to the queue, keeping its place (original arrival)."""

    reason: str = "no_answer"


@dataclass(frozen=True, slots=True)
class Answer:
    pass


@dataclass(frozen=True, slots=True)
class Hold:
    pass


@dataclass(frozen=True, slots=True)
class Retrieve:
    pass


@dataclass(frozen=True, slots=True)
class ConsultStart:
    """C5d: caller on hold with music, the first agent talks to ``agent_id``."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class ConsultComplete:
    """C5d: the first agent drops; the caller is connected to the consulted agent."""


@dataclass(frozen=True, slots=True)
class ConsultCancel:
    """The consulted agent is dropped; the caller is back with the first agent."""


@dataclass(frozen=True, slots=True)
class Conference:
    """Caller, first agent and consulted agent all talk together."""


@dataclass(frozen=True, slots=True)
class LeaveConference:
    agent_id: str


@dataclass(frozen=True, slots=True)
class TransferToIvr:
    """C5b: permanent; the agent leaves and the caller continues in ``flow_id``."""

    flow_id: str
    flow_version: int


@dataclass(frozen=True, slots=True)
class TemporaryIvr:
    """C5c: the caller goes to ``flow_id`` (PIN, terms, read-out) and returns to this agent."""

    flow_id: str
    flow_version: int
    purpose: str = "verify"


@dataclass(frozen=True, slots=True)
class ReturnFromIvr:
    """C5c: back to the very agent who sent the caller to the temporary IVR."""


@dataclass(frozen=True, slots=True)
class BlindTransfer:
    """C5e: back into another skill's queue with all its data."""

    queue: str
    skill: str
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class OutboundDial:
    """C5f: the system dials ``number`` for ``agent_id``; answer connects them."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class StartTransfer:
    """Hand the call out of this site (external number, another site)."""

    target: str


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    pass


@dataclass(frozen=True, slots=True)
class TransferFailed:
    pass


@dataclass(frozen=True, slots=True)
class SetData:
    """Attach non-sensitive data (section: ``collected``, ``attributes`` or ``call``)."""

    section: str
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class AddAction:
    """Record what was done for the caller (shown to the next agent)."""

    action: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """The caller (or the last agent) hung up; the end reason is derived from the state."""


@dataclass(frozen=True, slots=True)
class End:
    """End with an explicit reason (voicemail, callback, rejected, error, failed over)."""

    reason: EndReason


@dataclass(frozen=True, slots=True)
class ResumedAfterFailover:
    """A talking call carries on at the backup site; the time since central moved it (at
    ``lost_at``) is its failover gap, kept apart from talk time."""

    lost_at: float


@dataclass(frozen=True, slots=True)
class WrapUpEnded:
    """After the end: the agent finished wrap-up (fills ``wrap_up_end_at`` for the CDR)."""


CallEvent = (
    StartIvr
    | Enqueue
    | Requeue
    | OfferToAgent
    | OfferFailed
    | Answer
    | Hold
    | Retrieve
    | ConsultStart
    | ConsultComplete
    | ConsultCancel
    | Conference
    | LeaveConference
    | TransferToIvr
    | TemporaryIvr
    | ReturnFromIvr
    | BlindTransfer
    | OutboundDial
    | StartTransfer
    | TransferCompleted
    | TransferFailed
    | SetData
    | AddAction
    | Hangup
    | End
    | ResumedAfterFailover
    | WrapUpEnded
)


def event_name(event: object) -> str:
    name = type(event).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True, slots=True)
class CallTransition:
    """What one applied event did (stored as a call event; never holds sensitive values)."""

    call_id: str
    event: str
    old: CallState
    new: CallState
    at: float
    agent_id: str | None
    queue: str | None
    end_reason: EndReason | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "event": self.event,
            "old": self.old.value,
            "new": self.new.value,
            "at": self.at,
            "agent_id": self.agent_id,
            "queue": self.queue,
            "end_reason": None if self.end_reason is None else self.end_reason.value,
        }
