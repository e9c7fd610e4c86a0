"""The JSON messages of the signalling WebSocket, as typed, validated schemas.

Every message is a JSON object with a ``type``; client requests may carry an ``id`` that the
server echoes in its ``ack``/``answer``/``error``. See ``docs/signalling.md``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from cluster.limits import MAX_DEPTH, nesting_depth
from site_node.signalling.errors import Malformed, TooLarge, UnknownType

MAX_MESSAGE_BYTES = 64 * 1024
DIGIT_PATTERN = r"^[0-9*#A-Da-d]{1,32}$"
Name = Annotated[str, Field(min_length=1, max_length=128)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Annotated[str, Field(max_length=64)] | None = None


# ---------------------------------------------------------------- client -> server
class Join(_Message):
    type: Literal["join"]
    token: Annotated[str, Field(min_length=1, max_length=4096)]


class Offer(_Message):
    type: Literal["offer"]
    sdp: Annotated[str, Field(min_length=1, max_length=32 * 1024)]


class RtpOffer(_Message):
    """The SIP edge's plain-RTP offer for its caller (only on a call token from the edge)."""

    type: Literal["rtp_offer"]
    sdp: Annotated[str, Field(min_length=1, max_length=16 * 1024)]


class NoMedia(_Message):
    """A caller without audio sends this instead of an ``offer`` (digits then by ``digits``)."""

    type: Literal["no_media"]


class Hangup(_Message):
    type: Literal["hangup"]
    reason: Annotated[str, Field(max_length=64)] = "hangup"


class Hold(_Message):
    type: Literal["hold"]


class Resume(_Message):
    type: Literal["resume"]


class Transfer(_Message):
    type: Literal["transfer"]
    target: Name
    target_kind: Literal["agent", "queue", "ivr", "ivr_return"] = "agent"


class Consult(_Message):
    type: Literal["consult"]
    target: Name


class ConsultComplete(_Message):
    type: Literal["consult_complete"]


class ConsultCancel(_Message):
    type: Literal["consult_cancel"]


class Conference(_Message):
    type: Literal["conference"]


class Digits(_Message):
    type: Literal["digits"]
    digits: Annotated[str, Field(pattern=DIGIT_PATTERN)]


class Supervise(_Message):
    type: Literal["supervise"]
    call_id: Name
    mode: Literal["listen", "whisper", "barge"]


class AnswerCall(_Message):
    type: Literal["answer_call"]
    call_id: Name


class Ping(_Message):
    type: Literal["ping"]


class AgentState(_Message):
    type: Literal["agent_state"]
    state: Literal["ready", "not_ready", "logout"]
    reason: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class WrapUp(_Message):
    type: Literal["wrap_up"]
    code: Name
    notes: Annotated[str, Field(max_length=2000)] = ""
    end: bool = True


class Decline(_Message):
    type: Literal["decline"]
    call_id: Name


class Callback(_Message):
    type: Literal["callback"]


# Commands the site runtime handles through ``CallControl.agent_command`` (fields as a dict).
COMMANDS = frozenset({"agent_state", "wrap_up", "decline", "callback"})


ClientMessage = Annotated[
    Join
    | Offer
    | RtpOffer
    | NoMedia
    | Hangup
    | Hold
    | Resume
    | Transfer
    | Consult
    | ConsultComplete
    | ConsultCancel
    | Conference
    | Digits
    | Supervise
    | AnswerCall
    | Ping
    | AgentState
    | WrapUp
    | Decline
    | Callback,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ClientMessage)
CLIENT_TYPES = frozenset(
    {
        "join", "offer", "rtp_offer", "no_media", "hangup", "hold", "resume", "transfer", "consult", "consult_complete",
        "consult_cancel", "conference", "digits", "supervise", "answer_call", "ping",
        "agent_state", "wrap_up", "decline", "callback",
    }
)  # fmt: skip


def parse(raw: str | bytes) -> _Message:
    """Validate one client message or raise a :class:`SignallingError` with a stable id."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_MESSAGE_BYTES:
        raise TooLarge(f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}", size=size)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"message is not JSON: {exc}") from None
    except RecursionError:
        raise Malformed(f"message nests deeper than {MAX_DEPTH} levels") from None
    if nesting_depth(data) > MAX_DEPTH:
        raise Malformed(f"message nests deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise Malformed("message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise Malformed("message has no 'type'")
    if kind not in CLIENT_TYPES:
        raise UnknownType(f"unknown message type {kind[:40]!r}", type=kind[:40])
    try:
        message: _Message = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"][1:]) or "message"
        raise Malformed(f"{kind}: {field}: {first['msg']}", field=field) from None
    return message


def request_id(raw: str | bytes) -> str | None:
    """Best-effort ``id`` of a message that failed validation (to correlate the error)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


# ---------------------------------------------------------------- server -> client
def joined(session_id: str, kind: str, subject: str, info: dict[str, Any]) -> dict[str, Any]:
    return {"type": "joined", "session": session_id, "kind": kind, "subject": subject, **info}


def answer(sdp: str, msg_id: str | None) -> dict[str, Any]:
    return {"type": "answer", "sdp": sdp, "id": msg_id}


def ack(msg_id: str | None, command: str) -> dict[str, Any]:
    return {"type": "ack", "id": msg_id, "command": command}


def error(error_id: str, message: str, msg_id: str | None) -> dict[str, Any]:
    return {"type": "error", "error_id": error_id, "message": message, "id": msg_id}


def event(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": name, "data": data}
