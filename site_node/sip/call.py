"""One carrier call at the edge: route, join, answer; CANCEL, BYE either way; failover.

The call's life: INVITE -> 100 Trying -> route at central (the edge's token: network-provided
caller number) -> join the site's socket, offer plain RTP there -> 200 OK with the relay's
address -> ACK. Then the call is the site's: an ``ended`` event (the agent hung up, the IVR
finished) sends BYE to the carrier; the carrier's BYE hangs up at the site. A dropped socket
(the site died) is the client's business (:class:`EdgeClient`, a
:class:`~webrtc_client.client.CustomerClient`): it asks central where the call is now, joins
there and offers RTP again; the relay's carrier side does not change, so the carrier notices
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from cluster.logs import log
from cluster.tasks import TaskOwner
from site_node.media.errors import BadSdp
from site_node.media.rtp_sdp import RtpMedia, build_sdp, parse_sdp
from site_node.sip.message import SipMessage, new_branch, new_tag, response, split_list, split_uri, uri_of
from site_node.sip.relay import RtpRelay
from webrtc_client.client import ClientError, CustomerClient, Signalling

if TYPE_CHECKING:
    from site_node.sip.ua import SipUserAgent

_log = logging.getLogger("site_node.sip")
T1, T2 = 0.5, 4.0
# central's and the site's refusals -> what the carrier hears
# (a caller refused for calling too often hears busy; a center that cannot take calls says 503,
# so the carrier may route the call elsewhere)
_SIP_FOR = {"route.no_site": 503, "route.busy": 503, "central.unreachable": 503, "central.starting": 503,
            "cluster.not_leader": 503, "signalling.bad_sdp": 488, "route.bad_number": 484,
            "route.rate_limited": 486}  # fmt: skip
_ANSWER_DIRECTION = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv"}


# A site's part of a call ends with these when the call itself goes on elsewhere.
_NOT_THE_END = frozenset({"failed_over", "transferred_out"})


def site_ended(event: Mapping[str, Any], *, current: bool) -> bool:
    """Whether an ``ended`` event from a site ends the carrier's call: only from the site the
    edge is attached to now (``current``; an older socket's events belong to a site the call
    has left), and not when it says the call went on elsewhere."""
    data = event.get("data")
    reason = data.get("reason") if isinstance(data, dict) else None
    return current and reason not in _NOT_THE_END


class EdgeClient(CustomerClient):
    """The cluster side of one carrier call: a media-less customer that offers plain RTP."""

    def __init__(self, central_urls: list[str], *, caller: str, dialled: str, http: aiohttp.ClientSession,
                 edge_token: str, offer: Callable[[], str], on_answer: Callable[[str], None]) -> None:  # fmt: skip
        super().__init__(central_urls, caller=caller, dialled=dialled, media=False, http=http)
        self.route_fields = {"edge_token": edge_token}
        self.route_patience_s = 3.0
        self._offer = offer
        self._on_answer = on_answer

    async def _without_media(self, sig: Signalling) -> None:
        reply = await sig.request({"type": "rtp_offer", "sdp": self._offer()})
        self._on_answer(str(reply["sdp"]))

    async def _central(self, path: str, body: dict[str, Any], *, patience_s: float = 10.0) -> dict[str, Any]:
        """A new call's route request waits ``route_patience_s`` at most for a central that
        cannot answer: the carrier then gets 503 and may try another route. (Finding a call
        again after a failover keeps the client's full patience.)"""
        if path == "/v1/calls":
            patience_s = min(patience_s, self.route_patience_s)
        return await super()._central(path, body, patience_s=patience_s)


class EdgeCall:
    def __init__(self, ua: SipUserAgent, invite: SipMessage, source: tuple[str, int]) -> None:
        self.ua = ua
        self.invite = invite
        self.source = source
        self.call_id = invite.call_id
        self.local_tag = new_tag()
        self.state = "trying"  # trying -> answered -> confirmed -> ended
        self.tasks = TaskOwner(f"sip-call-{self.call_id[:12]}")
        self.offer = parse_sdp(invite.body)  # BadSdp: the UA answers 488
        self.relay = RtpRelay(ua.config.rtp_host, ua.config.rtp_ports())
        self.client: EdgeClient | None = None
        self.our_call_id: str | None = None  # the cluster's call id (the CDR's), once routed
        self._codec: tuple[int, str] | None = None  # what the site chose; re-offers keep it
        self._final: bytes | None = None
        self._acked = asyncio.Event()
        self._local_cseq = 1
        self.local_sdp = ""
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.held = False  # the carrier put the call on hold (a sendonly/inactive re-INVITE)
        self._session_id = secrets.randbelow(2**31)

    def _ids(self) -> dict[str, str | None]:
        """For log lines: the SIP Call-ID and ours (the CDR's, once central routed the call)."""
        return {"sip_call_id": self.call_id, "call_id": self.our_call_id}

    # ---- set-up ------------------------------------------------------------------------------
    def start(self) -> None:
        self.ua.send(response(self.invite, 100), self.source)
        self.tasks.spawn(self._setup(), "setup")

    async def _setup(self) -> None:
        caller = split_uri(uri_of(self.invite.get("from") or ""))[0] or "anonymous"
        dialled = split_uri(self.invite.uri)[0] or ""
        await self.relay.open()
        self.relay.carrier_remote = (self.offer.host, self.offer.port)
        token = self.ua.signer.issue("edge", self.ua.config.name, ttl_s=120)
        assert self.ua.http is not None, "the user agent is started"
        self.client = EdgeClient(self.ua.config.central_urls, caller=caller, dialled=dialled,
                                 http=self.ua.http, edge_token=token, offer=self._site_offer,
                                 on_answer=self._site_answered)  # fmt: skip
        self.client.route_patience_s = self.ua.config.route_patience_s
        try:
            async with asyncio.timeout(self.ua.config.setup_timeout_s):
                await self.client.call()
        except ClientError as exc:
            log(_log, logging.WARNING, "call set-up refused", **self._ids(), error_id=exc.error_id)
            await self._fail(_SIP_FOR.get(exc.error_id, 500), exc.error_id)
            return
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log(_log, logging.WARNING, "call set-up failed", **self._ids(), error=str(exc))
            await self._fail(503, "setup_failed")
            return
        assert self._codec is not None
        self.our_call_id = self.client.call_id
        self.ua.call_outcome("answered")
        local = RtpMedia(self.ua.config.rtp_host, RtpRelay.port_of(self.relay.carrier), (self._codec,),
                         self.offer.event_pt)  # fmt: skip
        self.state = "answered"
        contact = [("contact", f"<sip:edge@{self.ua.address}>")]
        ok = response(self.invite, 200, to_tag=self.local_tag, headers=contact,
                      body=build_sdp(local, session_id=self._session_id))  # fmt: skip
        self.local_sdp = ok.body
        await self._send_final(ok)
        self.tasks.spawn(self._watch_site(), "watch-site")
        log(_log, logging.INFO, "call answered", **self._ids())

    def _site_offer(self) -> str:
        codecs = (self._codec,) if self._codec is not None else self.offer.codecs
        port = RtpRelay.port_of(self.relay.site)
        return build_sdp(RtpMedia(self.ua.config.rtp_host, port, codecs, self.offer.event_pt))

    def _site_answered(self, sdp: str) -> None:
        media = parse_sdp(sdp)
        self._codec = media.first_codec
        self.relay.site_remote = (media.host, media.port)

    async def _send_final(self, message: SipMessage) -> None:
        """A final response to the INVITE, retransmitted (T1 doubling to T2) until the ACK."""
        self._final = message.to_bytes()
        interval = T1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 64 * T1
        self.ua.send(message, self.source)  # counted and in the ladder; retransmissions are not
        while not self._acked.is_set() and loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._acked.wait()
            if not self._acked.is_set():
                self.ua.send_raw(self._final, self.source)
            interval = min(2 * interval, T2) if message.status >= 200 else interval
        if not self._acked.is_set() and message.status < 300:
            await self.hang_up("no_ack")

    async def _fail(self, status: int, why: str) -> None:
        self.state = "failing"
        self.ua.call_outcome(str(status))
        await self._release_cluster_side()
        await self._send_final(response(self.invite, status, to_tag=self.local_tag, reason=None))
        self._finish(why)

    # ---- in the call -------------------------------------------------------------------------
    def acked(self) -> None:
        self._acked.set()
        if self.state == "answered":
            self.state = "confirmed"

    def retransmitted_invite(self) -> None:
        if self._final is not None:
            self.ua.send_raw(self._final, self.source)
        else:
            self.ua.send(response(self.invite, 100), self.source)

    def reinvite(self, request: SipMessage, source: tuple[str, int]) -> None:
        """A re-INVITE (session refresh, hold, resume, a new carrier media address): 200 with
        our same address and codec, in the direction that answers the offer's (``sendonly``
        -> ``recvonly``: hold); the relay sends to the carrier's new address if it moved. An
        offer we cannot carry is 488 and changes nothing."""
        media = self.offer
        if request.body:
            try:
                media = parse_sdp(request.body)
            except BadSdp as exc:
                self.ua.send(response(request, 488, reason=f"Not Acceptable Here ({exc.message[:60]})"), source)
                return
            if self._codec is not None and self._codec[1] not in {name for _, name in media.codecs}:
                self.ua.send(response(request, 488, reason="Not Acceptable Here (the call's codec is gone)"), source)
                return
            self.relay.carrier_remote = (media.host, media.port)
        self.held = self.relay.hold = media.direction in ("sendonly", "inactive")
        log(_log, logging.INFO, "re-INVITE", **self._ids(), direction=media.direction)
        sdp = self.local_sdp
        if self._codec is not None:
            local = RtpMedia(self.ua.config.rtp_host, RtpRelay.port_of(self.relay.carrier), (self._codec,),
                             media.event_pt, _ANSWER_DIRECTION.get(media.direction, "sendrecv"))  # fmt: skip
            sdp = build_sdp(local, session_id=self._session_id)
        contact = [("contact", f"<sip:edge@{self.ua.address}>")]
        self.ua.send(response(request, 200, to_tag=self.local_tag, headers=contact, body=sdp), source)

    async def cancel(self) -> None:
        """CANCEL before the answer: 487 to the INVITE, the call hung up at the site if routed."""
        if self.state != "trying":
            return
        self.state = "cancelled"
        self.ua.call_outcome("cancelled")
        await self.tasks.stop()
        self.tasks = TaskOwner(f"sip-call-{self.call_id[:12]}")
        await self._release_cluster_side()
        self.tasks.spawn(self._send_final(response(self.invite, 487, to_tag=self.local_tag)), "487")
        self._finish("cancelled")

    async def carrier_bye(self) -> None:
        self._finish("carrier_bye")
        await self.tasks.stop()
        await self._release_cluster_side()

    async def hang_up(self, reason: str) -> None:
        """The cluster ended the call (or it never got its ACK): BYE to the carrier."""
        if self.ended.is_set():
            return
        self._finish(reason)
        await self._release_cluster_side()
        await self.ua.request(self._bye(), self._bye_destination())

    async def _watch_site(self) -> None:
        """Until the call ends: an ``ended`` event from the site, or central saying it is over.

        A lost socket is a re-attach in progress (the client is finding where the call is now):
        nothing about it ends the carrier's call. Only an ``ended`` that ends the call itself
        (:func:`site_ended`) on the socket the client is attached through does, or the client
        giving up because central says the call is over (``call.ended`` / ``call.unknown``)."""
        client = self.client
        assert client is not None
        while not self.ended.is_set():
            sig = client.sig
            if sig is None or sig.closed.is_set():
                if client.done:
                    break  # central says the call is over
                await asyncio.sleep(0.1)
                continue
            ended = asyncio.ensure_future(sig.event("ended", timeout_s=None))  # type: ignore[arg-type]
            closed = asyncio.ensure_future(sig.closed.wait())
            try:
                await asyncio.wait({ended, closed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (ended, closed):
                    task.cancel()
                await asyncio.gather(ended, closed, return_exceptions=True)
            if ended.done() and not ended.cancelled() and ended.exception() is None:
                event = ended.result()
                if site_ended(event, current=client.sig is sig):
                    break
                log(_log, logging.INFO, "site event does not end the carrier's call", **self._ids(),
                    reason=str((event.get("data") or {}).get("reason")))  # fmt: skip
        if not self.ended.is_set():
            self.tasks.spawn(self.hang_up("site_ended"), "bye")

    def _bye(self) -> SipMessage:
        self._local_cseq += 1
        to = self.invite.get("from") or ""
        ours = f"{self.invite.get('to')};tag={self.local_tag}"
        routes = [r for value in self.invite.all("record-route") for r in split_list(value)]
        via = f"SIP/2.0/UDP {self.ua.address};branch={new_branch()};rport"
        headers = [("via", via), ("max-forwards", "70"), ("from", ours), ("to", to), ("call-id", self.call_id),
                   ("cseq", f"{self._local_cseq} BYE")]  # fmt: skip
        headers += [("route", r) for r in routes]
        return SipMessage("BYE", uri=self._remote_target(), headers=headers)

    def _remote_target(self) -> str:
        return uri_of(self.invite.get("contact") or self.invite.get("from") or "")

    def _bye_destination(self) -> tuple[str, int]:
        routes = [r for value in self.invite.all("record-route") for r in split_list(value)]
        target = uri_of(routes[0]) if routes and ";lr" in uri_of(routes[0]) else self._remote_target()
        _, host, port = split_uri(target)
        return host, port

    # ---- the end -----------------------------------------------------------------------------
    async def _release_cluster_side(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(ClientError, TimeoutError, aiohttp.ClientError, OSError):
                if client.call_id:
                    await client.hangup(timeout_s=3.0)
            await client.close()
        self.relay.close()

    def _finish(self, reason: str) -> None:
        if not self.ended.is_set():
            self.end_reason = reason
            self.state = "ended"
            self.ended.set()
            log(_log, logging.INFO, "call ended", **self._ids(), reason=reason)
            self.ua.forget_later(self)

    async def stop(self) -> None:
        if not self.ended.is_set() and self.state in ("answered", "confirmed"):
            await self.hang_up("shutdown")
        await self.tasks.stop()
        await self._release_cluster_side()
