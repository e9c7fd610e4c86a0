"""What the signalling layer hands to the site runtime: sessions and validated commands.

The runtime implements :class:`CallControl`; the signalling server calls it with a
:class:`Session` (who is on the socket, from the verified token) once a message has passed
validation and the token kind is allowed to send it. Raise a
:class:`~cluster.errors.CallCenterError` to refuse: the client gets an ``error`` message with its
``error_id`` and nothing else changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from cluster.tokens import Claims, TokenKind

SessionKind = TokenKind  # "call" (a customer's call), "agent", "supervisor"
TransferKind = Literal["agent", "queue", "ivr", "ivr_return"]
TapKind = Literal["listen", "whisper", "barge"]
Sender = Callable[[dict[str, Any]], Awaitable[None]]


class Session:
    """One joined WebSocket: a customer's call, an agent's desktop or a supervisor."""

    def __init__(self, claims: Claims, send: Sender) -> None:
        self.session_id = uuid.uuid4().hex[:16]
        self.claims = claims
        self._send = send
        self.closed = False

    @property
    def kind(self) -> SessionKind:
        return self.claims.kind

    @property
    def subject(self) -> str:
        """The call id (kind ``call``) or the agent/supervisor id."""
        return self.claims.subject

    async def send_event(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Push an event (ringing, screen pop, call state, ...) to the client."""
        if not self.closed:
            await self._send({"type": "event", "event": name, "data": data or {}})

    def __repr__(self) -> str:
        return f"<Session {self.session_id} {self.kind}:{self.subject}>"


class CallControl(Protocol):
    async def join(self, session: Session) -> dict[str, Any]:
        """A verified client joined; return extra fields for the ``joined`` reply."""
        ...

    async def offer(self, session: Session, sdp: str) -> str:
        """The client's SDP offer (already syntax-checked); return the SDP answer."""
        ...

    async def rtp_offer(self, session: Session, sdp: str) -> str:
        """The SIP edge's plain-RTP offer for its caller (a call token marked ``media: rtp``);
        return the SDP answer of the site's RTP leg."""
        ...

    async def no_media(self, session: Session) -> None:
        """A caller without audio (instead of an SDP offer): the call runs on a media-less leg,
        its digits come over signalling."""
        ...

    async def hangup(self, session: Session, reason: str) -> None: ...

    async def hold(self, session: Session) -> None: ...

    async def resume(self, session: Session) -> None: ...

    async def transfer(self, session: Session, target: str, target_kind: TransferKind) -> None: ...

    async def consult(self, session: Session, target: str) -> None: ...

    async def consult_complete(self, session: Session) -> None: ...

    async def consult_cancel(self, session: Session) -> None: ...

    async def conference(self, session: Session) -> None: ...

    async def digits(self, session: Session, digits: str) -> None: ...

    async def supervise(self, session: Session, call_id: str, mode: TapKind) -> None: ...

    async def answer_call(self, session: Session, call_id: str) -> None: ...

    async def agent_command(self, session: Session, command: str, fields: dict[str, Any]) -> None:
        """``agent_state`` (ready / not_ready with reason / logout), ``wrap_up`` (code, notes,
        end), ``decline`` (call_id) from agents; ``callback`` from a waiting caller."""
        ...

    async def leave(self, session: Session) -> None:
        """The socket closed (for any reason); the session is gone."""
        ...
