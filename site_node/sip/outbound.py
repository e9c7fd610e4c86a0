"""Egress: one outbound call from the edge to the carrier trunk's gateway (``sip.trunk``).

:func:`~site_node.sip.trunk.outbound_target` decides the number and caller ID; an
:class:`OutboundCall` then places the INVITE (our SDP) from its own UDP socket and runs the
client transaction: 1xx -> ringing (retransmissions stop), 2xx -> ACK (again for every
retransmitted 2xx), 3xx-6xx -> ACK and an outcome, no final answer within ``ring_timeout_s``
-> CANCEL (outcome ``no_answer``). Once answered, BYE goes either way. Every attempt ends in a
recorded :class:`Outcome`; none is left hanging.

:class:`OutboundDialog` is the pure part (no I/O, time passed in): what a response or a timer
means and what to send next.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cluster.logs import log
from cluster.tasks import TaskOwner
from site_node.media.rtp_sdp import RtpMedia, parse_sdp
from site_node.sip.message import SipMessage, new_branch, new_tag, param, parse, response, uri_of
from site_node.sip.metrics import ladder
from site_node.sip.trunk import OutboundTarget

_log = logging.getLogger("site_node.sip")
T1, T2 = 0.5, 4.0


class Outcome(StrEnum):
    ANSWERED = "answered"  # answered, then ended by a BYE (``ended_by`` says whose)
    BUSY = "busy"  # 486 / 600
    UNAVAILABLE = "unavailable"  # 503 / 480, or the gateway never answered the INVITE at all
    REJECTED = "rejected"  # any other final failure (``code`` has it)
    NO_ANSWER = "no_answer"  # nobody answered within ring_timeout_s: cancelled
    CANCELLED = "cancelled"  # we gave up before an answer (the agent hung up)


class Phase(StrEnum):
    CALLING = "calling"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


_FAILURE = {486: Outcome.BUSY, 600: Outcome.BUSY, 503: Outcome.UNAVAILABLE, 480: Outcome.UNAVAILABLE}


@dataclass
class OutboundDialog:
    """The attempt's lifecycle. Methods return what to send: ``"ack"``, ``"cancel"``,
    ``"bye"``, ``"ok"`` (200 to a BYE) or ``None``."""

    started_at: float
    ring_timeout_s: float
    phase: Phase = Phase.CALLING
    outcome: Outcome | None = None
    code: int | None = None  # the final response's status
    answered_at: float | None = None
    ended_at: float | None = None
    ended_by: str | None = None  # "us" / "them"
    cancelling: bool = False

    def provisional(self, status: int, now: float) -> str | None:
        if self.phase is Phase.CALLING and status > 100:
            self.phase = Phase.RINGING
        return None

    def final(self, status: int, now: float) -> str | None:
        if 200 <= status < 300:
            if self.phase is Phase.ANSWERED:
                return "ack"  # a retransmitted 2xx: ACK again
            if self.phase is Phase.ENDED:
                return "ack" if self.outcome is not Outcome.ANSWERED else None
            self.phase, self.code, self.answered_at = Phase.ANSWERED, status, now
            if self.cancelling:  # answered while our CANCEL crossed it: take it and hang up
                return "ack+bye"
            return "ack"
        if self.phase in (Phase.CALLING, Phase.RINGING):
            if self.cancelling and status == 487:
                outcome = self.outcome or Outcome.CANCELLED
            else:
                outcome = _FAILURE.get(status, Outcome.REJECTED)
            self._end(outcome, now, "them", status)
        return "ack"  # a non-2xx final response is always ACKed (also a retransmission)

    def tick(self, now: float) -> str | None:
        """The ring timer: past ``ring_timeout_s`` without an answer -> CANCEL."""
        if self.phase in (Phase.CALLING, Phase.RINGING) and not self.cancelling:
            if now - self.started_at >= self.ring_timeout_s:
                self.cancelling, self.outcome = True, Outcome.NO_ANSWER
                return "cancel"
        return None

    def hangup(self, now: float) -> str | None:
        """We end the call: BYE once answered, CANCEL before."""
        if self.phase is Phase.ANSWERED:
            self._end(Outcome.ANSWERED, now, "us", self.code)
            return "bye"
        if self.phase in (Phase.CALLING, Phase.RINGING) and not self.cancelling:
            self.cancelling, self.outcome = True, Outcome.CANCELLED
            return "cancel"
        return None

    def bye_received(self, now: float) -> str:
        if self.phase is Phase.ANSWERED:
            self._end(Outcome.ANSWERED, now, "them", self.code)
        return "ok"

    def gave_up(self, now: float) -> None:
        """No response at all (the gateway is down) or the CANCEL got no 487: the attempt ends."""
        if self.phase is not Phase.ENDED:
            outcome = self.outcome or Outcome.UNAVAILABLE
            self._end(outcome, now, "us", self.code)

    def _end(self, outcome: Outcome, now: float, by: str, code: int | None) -> None:
        self.phase, self.outcome, self.ended_at, self.ended_by, self.code = Phase.ENDED, outcome, now, by, code


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, call: OutboundCall) -> None:
        self._call = call

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._call.received(data, (str(addr[0]), int(addr[1])))


@dataclass
class _Sent:
    invite: SipMessage
    to_tag: str | None = None
    remote_target: str = ""
    route: list[str] = field(default_factory=list)


class OutboundCall:
    """One outbound call through the trunk. ``await place()`` returns once answered or ended;
    ``await ended()`` waits for the end; ``await hangup()`` ends it from our side."""

    def __init__(self, target: OutboundTarget, sdp: str, *, host: str, ring_timeout_s: float,
                 loop_time: Any = None, ladder_log: bool = False) -> None:  # fmt: skip
        self.target = target
        self.host = host
        self.ladder_log = ladder_log  # each message a line of the SIP ladder (``sip.ladder_log``)
        self.call_id = f"{secrets.token_hex(10)}@{host}"
        self.tag = new_tag()
        self._sdp = sdp
        self._time = loop_time or (lambda: asyncio.get_running_loop().time())
        self.dialog = OutboundDialog(started_at=0.0, ring_timeout_s=ring_timeout_s)
        self.remote_media: RtpMedia | None = None
        self.tasks = TaskOwner("sip-outbound")
        self._transport: asyncio.DatagramTransport | None = None
        self._port = 0
        self._sent: _Sent | None = None
        self._settled = asyncio.Event()  # answered or ended
        self._ended = asyncio.Event()
        self._bye_answer: asyncio.Future[SipMessage] | None = None
        self._cancel_answer: asyncio.Future[SipMessage] | None = None
        self._responded = asyncio.Event()

    # ---- the caller's side -------------------------------------------------------------------
    async def place(self) -> OutboundDialog:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), local_addr=(self.host, 0))
        self._port = int(self._transport.get_extra_info("sockname")[1])
        self.dialog.started_at = self._time()
        invite = self._invite()
        self._sent = _Sent(invite)
        log(_log, logging.INFO, "outbound call placed", call_id=self.call_id, caller_id=self.target.caller_id,
            gateway=f"{self.target.gateway[0]}:{self.target.gateway[1]}")  # fmt: skip
        self.tasks.spawn(self._retransmit_invite(invite), "invite")
        self.tasks.spawn(self._ring_timer(), "ring-timer")
        await self._settled.wait()
        return self.dialog

    async def ended(self) -> OutboundDialog:
        await self._ended.wait()
        return self.dialog

    async def hangup(self) -> OutboundDialog:
        action = self.dialog.hangup(self._time())
        if action == "bye":
            await self._bye()
        elif action == "cancel":
            await self._cancel()
        await self._ended.wait()
        return self.dialog

    async def stop(self) -> None:
        if self.dialog.phase is not Phase.ENDED:
            await self.hangup()
        await self.tasks.stop()
        if self._transport is not None:
            self._transport.close()

    # ---- building messages -------------------------------------------------------------------
    def _via(self, branch: str) -> tuple[str, str]:
        return ("via", f"SIP/2.0/UDP {self.host}:{self._port};branch={branch};rport")

    def _invite(self) -> SipMessage:
        gw_host, gw_port = self.target.gateway
        uri = f"sip:{self.target.number}@{gw_host}:{gw_port}"
        caller = self.target.caller_id
        headers = [self._via(new_branch()), ("max-forwards", "70"),
                   ("from", f"<sip:{caller}@{self.host}>;tag={self.tag}"), ("to", f"<{uri}>"),
                   ("call-id", self.call_id), ("cseq", "1 INVITE"), ("contact", f"<sip:edge@{self.host}:{self._port}>"),
                   ("content-type", "application/sdp")]  # fmt: skip
        if caller == "anonymous":
            headers.append(("privacy", "id"))
        else:
            headers.append(("p-asserted-identity", f"<sip:{caller}@{self.host}>"))
        return SipMessage("INVITE", uri=uri, headers=headers, body=self._sdp)

    def _in_dialog(self, method: str, cseq: int, branch: str | None = None) -> SipMessage:
        assert self._sent is not None
        invite = self._sent.invite
        to = invite.get("to") or ""
        if self._sent.to_tag:
            to = f"{to};tag={self._sent.to_tag}"
        headers = [self._via(branch or new_branch()), ("max-forwards", "70"), ("from", invite.get("from") or ""),
                   ("to", to), ("call-id", self.call_id), ("cseq", f"{cseq} {method}")]  # fmt: skip
        headers += [("route", r) for r in self._sent.route]
        return SipMessage(method, uri=self._sent.remote_target or invite.uri, headers=headers)

    def _ack_for_failure(self, final: SipMessage) -> SipMessage:
        """The ACK of a non-2xx final response: same branch and Request-URI as the INVITE."""
        assert self._sent is not None
        invite = self._sent.invite
        headers = [("via", invite.all("via")[0]), ("max-forwards", "70"),
                   ("from", invite.get("from") or ""), ("to", final.get("to") or ""),
                   ("call-id", self.call_id), ("cseq", "1 ACK")]  # fmt: skip
        return SipMessage("ACK", uri=invite.uri, headers=headers)

    def _send(self, message: SipMessage) -> None:
        self._send_to(message, self.target.gateway)

    # ---- transactions ------------------------------------------------------------------------
    async def _retransmit_invite(self, invite: SipMessage) -> None:
        interval = T1
        for _ in range(7):  # Timer B: 64*T1 = 32 s without any response
            self._send(invite)
            try:
                async with asyncio.timeout(interval):
                    await self._responded.wait()
                    return
            except TimeoutError:
                interval = min(2 * interval, T2)
        self._finish_without_answer()

    async def _ring_timer(self) -> None:
        remaining = self.dialog.started_at + self.dialog.ring_timeout_s - self._time()
        await asyncio.sleep(max(0.0, remaining))
        if self.dialog.tick(self._time()) == "cancel":
            await self._cancel()

    async def _request(self, message: SipMessage) -> SipMessage | None:
        future: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        if message.method == "BYE":
            self._bye_answer = future
        else:
            self._cancel_answer = future
        interval = T1
        for _ in range(7):
            self._send(message)
            try:
                async with asyncio.timeout(interval):
                    return await asyncio.shield(future)
            except TimeoutError:
                interval = min(2 * interval, T2)
        return None

    async def _bye(self) -> None:
        await self._request(self._in_dialog("BYE", 2))
        self._finish()

    async def _cancel(self) -> None:
        assert self._sent is not None
        invite = self._sent.invite
        headers = [("via", invite.all("via")[0]), ("max-forwards", "70"), ("from", invite.get("from") or ""),
                   ("to", invite.get("to") or ""), ("call-id", self.call_id), ("cseq", "1 CANCEL")]  # fmt: skip
        await self._request(SipMessage("CANCEL", uri=invite.uri, headers=headers))
        try:  # the INVITE's 487 (or a crossing 2xx) ends it; a gateway that sends neither, Timer B
            async with asyncio.timeout(32 * T1):
                await self._settled.wait()
        except TimeoutError:
            self._finish_without_answer()

    def _finish_without_answer(self) -> None:
        self.dialog.gave_up(self._time())
        self._finish()

    def _finish(self) -> None:
        if self.dialog.phase is Phase.ENDED and not self._ended.is_set():
            log(_log, logging.INFO, "outbound call ended", call_id=self.call_id, outcome=str(self.dialog.outcome),
                code=self.dialog.code, ended_by=self.dialog.ended_by)  # fmt: skip
        self._settled.set()
        if self.dialog.phase is Phase.ENDED:
            self._ended.set()

    # ---- receiving ---------------------------------------------------------------------------
    def received(self, data: bytes, source: tuple[str, int]) -> None:
        try:
            message = parse(data)
        except Exception as exc:
            log(_log, logging.INFO, "dropped an unparsable datagram", error=type(exc).__name__)
            return
        if message.call_id != self.call_id:
            return
        if self.ladder_log:
            ladder(message, "in", source, None)
        if message.method is None:
            self._response(message)
        elif message.method == "BYE":
            self._send_to(response(message, 200), source)
            self.dialog.bye_received(self._time())
            self._finish()
        elif message.method != "ACK":
            self._send_to(response(message, 481 if message.method != "OPTIONS" else 200), source)

    def _send_to(self, message: SipMessage, dest: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(message.to_bytes(), dest)
            if self.ladder_log:
                ladder(message, "out", dest, None)

    def _response(self, message: SipMessage) -> None:
        _, method = message.cseq
        if method in ("BYE", "CANCEL"):
            future = self._bye_answer if method == "BYE" else self._cancel_answer
            if future is not None and not future.done() and message.status >= 200:
                future.set_result(message)
            return
        if method != "INVITE" or self._sent is None:
            return
        self._responded.set()
        now = self._time()
        if message.status < 200:
            self.dialog.provisional(message.status, now)
            return
        action = self.dialog.final(message.status, now)
        if 200 <= message.status < 300:
            self._answered(message, action)
        elif action == "ack":
            self._send(self._ack_for_failure(message))
            self._finish()

    def _answered(self, message: SipMessage, action: str | None) -> None:
        assert self._sent is not None
        if self._sent.to_tag is None:
            self._sent.to_tag = param(message.get("to") or "", "tag")
            contact = message.get("contact")
            self._sent.remote_target = uri_of(contact) if contact else self._sent.invite.uri
            self._sent.route = list(reversed(message.all("record-route")))
            try:
                self.remote_media = parse_sdp(message.body)
            except Exception:
                self.remote_media = None
        if action in ("ack", "ack+bye"):
            self._send(self._in_dialog("ACK", 1))
        if action == "ack+bye" or (
            action == "ack" and self.remote_media is None and self.dialog.phase is Phase.ANSWERED
        ):
            self.dialog.hangup(self._time())
            self.tasks.spawn(self._bye(), "bye")
        self._settled.set()
