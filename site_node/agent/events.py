"""Agent states and the events that move an agent between them (plain immutable data)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"
    RESERVED = "reserved"  # ringing: a call is offered and not yet answered
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    AFTER_CALL_WORK = "after_call_work"


MISSED_REASON = "missed"
"""Reason code set when an offered call rings without an answer."""

DECLINED_REASON = "declined"
"""Reason code set when the agent declines an offered call."""

LOGIN_REASON = "login"
"""Reason code of the not-ready state right after login."""


@dataclass(frozen=True, slots=True)
class Login:
    ready: bool = False
    reason: str = LOGIN_REASON


@dataclass(frozen=True, slots=True)
class Logout:
    pass


@dataclass(frozen=True, slots=True)
class SetReady:
    pass


@dataclass(frozen=True, slots=True)
class SetNotReady:
    """Go not ready now; while busy it is remembered and applied when wrap-up ends."""

    reason: str


@dataclass(frozen=True, slots=True)
class Offer:
    """The ACD reserved this agent for ``call_id``; the phone rings for ``ring_timeout_s``."""

    call_id: str
    ring_timeout_s: float


@dataclass(frozen=True, slots=True)
class Answer:
    call_id: str


@dataclass(frozen=True, slots=True)
class RingTimeout:
    """Ring-no-answer timer fired (the driver sends it when ``ring_deadline`` passes)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Decline:
    call_id: str


@dataclass(frozen=True, slots=True)
class OfferCancelled:
    """The offered call went away while ringing (caller hung up, call moved)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Hold:
    call_id: str


@dataclass(frozen=True, slots=True)
class Retrieve:
    call_id: str


@dataclass(frozen=True, slots=True)
class Dial:
    """The agent places a call (C5f outbound, or the consult leg of C5d while the caller holds)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The agent's part in ``call_id`` ended (hang-up, transfer completed, consult dropped).

    ``wrap_up_s``: seconds of after-call work before the automatic end; ``None`` means the
    agent ends wrap-up manually; ``0`` skips wrap-up.
    """

    call_id: str
    wrap_up_s: float | None = None


@dataclass(frozen=True, slots=True)
class SetWrapUp:
    code: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class EndWrapUp:
    pass


@dataclass(frozen=True, slots=True)
class WrapUpTimeout:
    pass


AgentEvent = (
    Login
    | Logout
    | SetReady
    | SetNotReady
    | Offer
    | Answer
    | RingTimeout
    | Decline
    | OfferCancelled
    | Hold
    | Retrieve
    | Dial
    | CallEnded
    | SetWrapUp
    | EndWrapUp
    | WrapUpTimeout
)

ALL_EVENT_TYPES: tuple[type, ...] = (
    Login,
    Logout,
    SetReady,
    SetNotReady,
    Offer,
    Answer,
    RingTimeout,
    Decline,
    OfferCancelled,
    Hold,
    Retrieve,
    Dial,
    CallEnded,
    SetWrapUp,
    EndWrapUp,
    WrapUpTimeout,
)


def event_name(event: object) -> str:
    """``SetNotReady`` -> ``set_not_ready`` (the name used in event records)."""
    name = type(event).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True, slots=True)
class AgentTransition:
    """What one applied event did: published by the driver, stored as an agent event."""

    agent_id: str
    event: str
    old: AgentState
    new: AgentState
    at: float
    reason: str | None
    call_ids: tuple[str, ...]
    call_id: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "agent_id": self.agent_id,
            "event": self.event,
            "old": self.old.value,
            "new": self.new.value,
            "at": self.at,
            "reason": self.reason,
            "call_ids": list(self.call_ids),
            "call_id": self.call_id,
        }
