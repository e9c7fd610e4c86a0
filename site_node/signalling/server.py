"""The signalling WebSocket (aiohttp): join with a token, SDP offer/answer, call control.

Each socket is handled message by message: a message is validated (size, JSON, type, fields),
checked against the session's token kind, then handed to :class:`CallControl`. Anything that
goes wrong produces one ``error`` message with a stable ``error_id``; the socket stays open and
other sockets are not affected.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

import site_node.signalling.protocol as protocol
from cluster.errors import CallCenterError, TokenError
from cluster.tasks import cancel_and_wait
from cluster.tokens import TokenSigner
from site_node.media.errors import BadSdp as MediaBadSdp
from site_node.media.webrtc import validate_offer
from site_node.signalling.control import CallControl, Session
from site_node.signalling.errors import AlreadyJoined, BadSdp, Forbidden, NotJoined

logger = logging.getLogger(__name__)
JOIN_WITHIN_S = 20.0  # a socket must join this soon after it opens (a cold browser can take seconds)

_EVERYONE = frozenset({"call", "agent", "supervisor"})
_AGENT = frozenset({"agent"})
ALLOWED: dict[str, frozenset[str]] = {
    "offer": _EVERYONE,
    "rtp_offer": frozenset({"call"}),  # and only from the SIP edge: see _dispatch
    "no_media": frozenset({"call"}),
    "hangup": _EVERYONE,
    "ping": _EVERYONE,
    "digits": frozenset({"call", "agent"}),
    "hold": _AGENT,
    "resume": _AGENT,
    "transfer": _AGENT,
    "consult": _AGENT,
    "consult_complete": _AGENT,
    "consult_cancel": _AGENT,
    "conference": _AGENT,
    "answer_call": _AGENT,
    "supervise": frozenset({"supervisor", "agent"}),  # team leaders also take calls (A3)
    "agent_state": _AGENT,
    "wrap_up": _AGENT,
    "decline": _AGENT,
    "callback": frozenset({"call"}),
}


class _Connection:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: Session | None = None
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if not self.ws.closed:
                await self.ws.send_json(message)


class SignallingServer:
    def __init__(
        self,
        control: CallControl,
        signer: TokenSigner,
        *,
        site: str | None = None,
        path: str = "/ws",
        heartbeat_s: float = 20.0,
    ) -> None:
        self._control = control
        self._signer = signer
        self._site = site
        self.path = path
        self._heartbeat_s = heartbeat_s
        self._connections: set[_Connection] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.path, self.handle)

    @property
    def sessions(self) -> list[Session]:
        return [c.session for c in self._connections if c.session is not None]

    async def stop(self) -> None:
        for conn in list(self._connections):
            await conn.ws.close()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # aiohttp drops the socket above max_msg_size; our own limit (an error reply) is lower.
        ws = web.WebSocketResponse(max_msg_size=16 * protocol.MAX_MESSAGE_BYTES, heartbeat=self._heartbeat_s)
        await ws.prepare(request)
        conn = _Connection(ws)
        self._connections.add(conn)
        deadline = asyncio.create_task(self._join_deadline(conn), name="ws-join-deadline")
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_message(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            await cancel_and_wait([deadline])
            self._connections.discard(conn)
            session, conn.session = conn.session, None
            if session is not None:
                session.closed = True
                try:
                    await self._control.leave(session)
                except Exception:
                    logger.exception("leave(%s) failed", session)
        return ws

    async def _join_deadline(self, conn: _Connection) -> None:
        """A socket that has not joined within ``JOIN_WITHIN_S`` is closed (no idle sockets)."""
        await asyncio.sleep(JOIN_WITHIN_S)
        if conn.session is None and not conn.ws.closed:
            await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"join within the first seconds")

    async def _on_message(self, conn: _Connection, raw: str | bytes) -> None:
        msg_id: str | None = None
        try:
            message = protocol.parse(raw)
            msg_id = message.id
            reply = await self._dispatch(conn, message)
        except CallCenterError as exc:
            reply = protocol.error(exc.error_id, exc.message, msg_id or protocol.request_id(raw))
        except Exception:
            logger.exception("signalling handler failed")
            reply = protocol.error("internal", "internal error", msg_id)
        await conn.send(reply)

    async def _dispatch(self, conn: _Connection, message: Any) -> dict[str, Any]:
        kind: str = message.type
        if kind == "join":
            return await self._join(conn, message)
        session = conn.session
        if session is None:
            raise NotJoined("send 'join' with your token first")
        if session.kind not in ALLOWED[kind]:
            raise Forbidden(f"a {session.kind} session cannot send {kind!r}")
        control = self._control
        if kind == "offer":
            try:
                validate_offer(message.sdp)
                return protocol.answer(await control.offer(session, message.sdp), message.id)
            except MediaBadSdp as exc:
                raise BadSdp(exc.message) from exc
        if kind == "rtp_offer":
            if session.claims.extra.get("media") != "rtp":
                raise Forbidden("only the SIP edge's calls send plain RTP offers")
            try:
                return protocol.answer(await control.rtp_offer(session, message.sdp), message.id)
            except MediaBadSdp as exc:
                raise BadSdp(exc.message) from exc
        if kind == "ping":
            return {"type": "pong", "id": message.id}
        if kind == "no_media":
            await control.no_media(session)
        elif kind == "hangup":
            await control.hangup(session, message.reason)
        elif kind == "hold":
            await control.hold(session)
        elif kind == "resume":
            await control.resume(session)
        elif kind == "transfer":
            await control.transfer(session, message.target, message.target_kind)
        elif kind == "consult":
            await control.consult(session, message.target)
        elif kind == "consult_complete":
            await control.consult_complete(session)
        elif kind == "consult_cancel":
            await control.consult_cancel(session)
        elif kind == "conference":
            await control.conference(session)
        elif kind == "digits":
            await control.digits(session, message.digits.upper())
        elif kind == "supervise":
            await control.supervise(session, message.call_id, message.mode)
        elif kind == "answer_call":
            await control.answer_call(session, message.call_id)
        elif kind in protocol.COMMANDS:
            await control.agent_command(session, kind, message.model_dump(exclude={"type", "id"}))
        return protocol.ack(message.id, kind)

    async def _join(self, conn: _Connection, message: protocol.Join) -> dict[str, Any]:
        if conn.session is not None:
            raise AlreadyJoined("this socket has already joined")
        claims = self._signer.verify(message.token)
        if claims.kind not in _EVERYONE:
            raise TokenError(f"a {claims.kind} token cannot join a site", error_id="token.wrong_kind")
        if self._site is not None and claims.site is not None and claims.site != self._site:
            raise TokenError(
                f"this token is for site {claims.site}, not {self._site}",
                error_id="token.wrong_site",
            )
        session = Session(claims, conn.send)
        info = await self._control.join(session)
        conn.session = session
        return protocol.joined(session.session_id, session.kind, session.subject, info)
