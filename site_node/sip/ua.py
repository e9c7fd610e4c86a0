"""The edge's SIP user agent over UDP: requests to calls, responses to transactions.

* INVITE (new) -> an :class:`EdgeCall` (404 if the number is not in the dial plan, 488 if the
  SDP offers nothing we carry); a retransmitted INVITE gets the last response again; a
  re-INVITE in a dialog is accepted with the same media.
* ACK, CANCEL, BYE -> the call (481 if there is none); OPTIONS -> 200 (Kamailio's health check).
* A message that does not parse gets 400 (or 513 if too large) when it can be addressed, and is
  dropped otherwise; nothing else changes.
* Requests the edge sends (BYE) are retransmitted (T1 doubling) until a final response.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

import aiohttp

from cluster.logs import log
from cluster.tasks import TaskOwner
from cluster.tokens import TokenSigner
from site_node.media.errors import BadSdp
from site_node.sip.call import T1, T2, EdgeCall
from site_node.sip.config import SipConfig
from site_node.sip.errors import BadMessage, NotInDialPlan, SipError
from site_node.sip.message import SipMessage, param, parse, response, split_uri
from site_node.sip.metrics import SipCollector, SipCounts, ladder, register, unregister
from site_node.sip.outbound import OutboundCall
from site_node.sip.trunk import outbound_target

_log = logging.getLogger("site_node.sip")
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, ua: SipUserAgent) -> None:
        self._ua = ua

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._ua.received(data, (str(addr[0]), int(addr[1])))


class SipUserAgent:
    def __init__(self, config: SipConfig, signer: TokenSigner) -> None:
        self.config = config
        self.signer = signer
        self.address = f"{config.host}:{config.port}"
        self.tasks = TaskOwner("sip-ua")
        self.calls: dict[str, EdgeCall] = {}
        self.outbound: dict[str, OutboundCall] = {}  # egress calls not yet ended, by SIP Call-ID
        self.http: aiohttp.ClientSession | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[str, asyncio.Future[SipMessage]] = {}
        self._answered: OrderedDict[tuple[str, str], bytes] = OrderedDict()  # non-INVITE retransmissions
        self.metrics = SipCounts()
        self._collector: SipCollector | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession()
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.config.host, self.config.port)
        )
        try:
            self._collector = register(self)
        except ValueError:  # another user agent in this process (tests) already reports
            log(_log, logging.WARNING, "sip metrics already registered in this process")
        log(_log, logging.INFO, "sip edge listening", address=self.address)

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            await call.stop()
        for outbound in list(self.outbound.values()):
            await outbound.stop()
        await self.tasks.stop()
        if self._transport is not None:
            self._transport.close()
        if self.http is not None:
            await self.http.close()
        unregister(self._collector)
        self._collector = None

    # ---- sending -----------------------------------------------------------------------------
    def send(self, message: SipMessage, dest: tuple[str, int]) -> None:
        self.send_raw(message.to_bytes(), dest)
        if message.method is None:
            self.metrics.responses[((message.get("cseq") or " ?").rsplit(" ", 1)[-1], message.status)] += 1
        self.ladder(message, "out", dest)

    def ladder(self, message: SipMessage, direction: str, peer: tuple[str, int]) -> None:
        if self.config.ladder_log:
            call = self.calls.get(message.call_id)
            ladder(message, direction, peer, call.our_call_id if call is not None else None)

    def call_outcome(self, outcome: str) -> None:
        """How a new call's set-up ended: ``answered``, a refusal's code, ``cancelled``."""
        self.metrics.calls[outcome] += 1

    def send_raw(self, data: bytes, dest: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, dest)

    async def request(self, message: SipMessage, dest: tuple[str, int]) -> SipMessage | None:
        """Send a request, retransmitting until a final response (None after 32 s)."""
        branch = message.branch
        future: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        self._pending[branch] = future
        interval = T1
        try:
            for _ in range(11):
                self.send(message, dest)
                try:
                    async with asyncio.timeout(interval):
                        return await asyncio.shield(future)
                except TimeoutError:
                    interval = min(2 * interval, T2)
            return None
        finally:
            self._pending.pop(branch, None)

    def _reply(self, request: SipMessage, status: int, source: tuple[str, int], **kwargs: Any) -> None:
        message = response(request, status, **kwargs)
        self.send(message, source)
        if request.method not in ("INVITE", "ACK"):
            self._answered[(request.branch, request.method or "")] = message.to_bytes()
            while len(self._answered) > 1024:
                self._answered.popitem(last=False)

    # ---- receiving ---------------------------------------------------------------------------
    def received(self, data: bytes, source: tuple[str, int]) -> None:
        try:
            message = parse(data)
        except SipError as exc:
            self._refuse(data, exc, source)
            return
        if message.method is None:
            self.ladder(message, "in", source)
            future = self._pending.get(message.branch)
            if future is not None and not future.done() and message.status >= 200:
                future.set_result(message)
            return
        self.metrics.requests[message.method] += 1
        self.ladder(message, "in", source)
        cached = self._answered.get((message.branch, message.method))
        if cached is not None:
            self.send_raw(cached, source)
            return
        try:
            self._dispatch(message, source)
        except SipError as exc:
            if message.method == "INVITE" and message.call_id not in self.calls:
                self.call_outcome(str(exc.sip_code))
            self._reply(message, exc.sip_code, source, reason=exc.sip_reason)

    def _refuse(self, data: bytes, error: SipError, source: tuple[str, int]) -> None:
        """400/513 for a request we can address; anything else is dropped."""
        log(_log, logging.INFO, "refused a malformed message", error_id=error.error_id, reason=error.message)
        try:
            loose = parse(data[:65536], strict=False)
        except SipError:
            return
        if loose.uri.startswith("SIP/2.0") or loose.uri.startswith("ACK ") or not loose.all("via"):
            return
        loose.method = loose.uri.split(" ", 1)[0]
        headers = [(k, v) for k, v in loose.headers if k in ("via", "from", "to", "call-id", "cseq")]
        bare = SipMessage(loose.method, headers=headers)
        self.send(response(bare, error.sip_code, reason=f"{error.sip_reason} ({error.message[:80]})"), source)

    def _dispatch(self, message: SipMessage, source: tuple[str, int]) -> None:
        method = message.method
        call = self.calls.get(message.call_id)
        if method == "OPTIONS":
            self._reply(message, 200, source, headers=[("allow", ALLOW), ("accept", "application/sdp")])
        elif method == "INVITE":
            if call is not None and param(message.get("to") or "", "tag"):
                call.reinvite(message, source)
            elif call is not None:
                call.retransmitted_invite()
            else:
                self._new_call(message, source)
        elif method == "ACK":
            if call is not None:
                call.acked()
        elif method == "CANCEL":
            if call is None or call.invite.branch != message.branch:
                self._reply(message, 481, source)
                return
            self._reply(message, 200, source)
            self.tasks.spawn(call.cancel(), "cancel")
        elif method == "BYE":
            if call is None:
                self._reply(message, 481, source)
                return
            self._reply(message, 200, source)
            self.tasks.spawn(call.carrier_bye(), "bye")
        else:
            self._reply(message, 501, source, headers=[("allow", ALLOW)])

    def _new_call(self, invite: SipMessage, source: tuple[str, int]) -> None:
        user = split_uri(invite.uri)[0]
        if not user:
            self.call_outcome("484")
            self._reply(invite, 484, source)
            return
        if user not in self.config.numbers:
            raise NotInDialPlan(f"{user[:32]} is not a number this trunk serves")
        if invite.get("content-type") not in (None, "application/sdp") or not invite.body:
            raise BadMessage("an INVITE without an SDP offer is not supported")
        try:
            call = EdgeCall(self, invite, source)
        except BadSdp as exc:
            self.call_outcome("488")
            self._reply(invite, 488, source, reason=f"Not Acceptable Here ({exc.message[:60]})")
            return
        self.calls[call.call_id] = call
        call.start()

    # ---- egress ------------------------------------------------------------------------------
    async def dial(self, number: str, queue: str | None, sdp: str) -> OutboundCall:
        """Place an outbound call through the trunk (``sip.outside_dial_plan`` / ``sip.no_trunk``
        before anything is sent); returns once it is answered or has ended. Its outcome is
        counted as ``outbound_<outcome>`` in ``cc_sip_calls_total``."""
        target = outbound_target(self.config.trunk, number, queue)
        assert self.config.trunk is not None
        call = OutboundCall(target, sdp, host=self.config.host, ring_timeout_s=self.config.trunk.ring_timeout_s,
                            ladder_log=self.config.ladder_log)  # fmt: skip
        self.outbound[call.call_id] = call
        self.tasks.spawn(self._outbound_ended(call), f"outbound-{call.call_id}")
        await call.place()
        return call

    async def _outbound_ended(self, call: OutboundCall) -> None:
        try:
            dialog = await call.ended()
            self.call_outcome(f"outbound_{dialog.outcome}")
        finally:
            self.outbound.pop(call.call_id, None)
            await call.stop()

    def forget_later(self, call: EdgeCall) -> None:
        """Keep an ended call a while (retransmissions, a late ACK), then forget it; its RTP
        counts go to the totals."""
        for direction, stats in call.relay.stats.items():
            self.metrics.rtp_packets[direction] += stats.packets
            self.metrics.rtp_lost[direction] += stats.lost

        def forget() -> None:
            if self.calls.get(call.call_id) is call:
                del self.calls[call.call_id]

        if not self.tasks.closed:
            self.tasks.timer(f"forget-{call.call_id}", 32.0, forget)
