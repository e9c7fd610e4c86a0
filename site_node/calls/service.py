"""Customer calls arriving at this site: join (routed here or moved here by a failover),
media legs, and the call's own driver (its IVR, or its re-entry after a failover)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from cluster.callrecords import TALKING_STATES, CallRecord, OwnershipLost, RecordState
from cluster.clock import Clock
from cluster.logs import call_context, log
from cluster.tasks import TaskOwner
from site_node.call import EndReason, call_from_record
from site_node.calls.live import CallBook, LiveCall
from site_node.calls.ports import Ender, Leaving
from site_node.media.codecs import CodecSpec
from site_node.media.legs import Leg
from site_node.media.null_leg import NullLeg
from site_node.media.switch import MediaSwitch
from site_node.runtime.errors import CallNotHere
from site_node.signalling.control import Session

_log = logging.getLogger("site_node.calls")


class Claims(Protocol):
    async def claim(self, call_id: str) -> CallRecord: ...

    def claimed(self, call_id: str) -> None: ...


class Resumes(Protocol):
    def enqueue(self, lc: LiveCall, queue: str, skill: str, priority: int) -> None: ...

    async def rejoin_agent(self, lc: LiveCall, agent_id: str) -> None: ...


class CallService:
    def __init__(
        self,
        *,
        site: str,
        book: CallBook,
        records: Claims,
        switch: MediaSwitch,
        codec: CodecSpec,
        resumes: Resumes,
        run_ivr: Callable[[LiveCall, str | None], Coroutine[Any, Any, None]],
        ender: Ender,
        owner: TaskOwner,
        clock: Clock,
        gone_grace_s: float,
        leaving: Leaving | None = None,
    ) -> None:
        self._site = site
        self._book = book
        self._records = records
        self._switch = switch
        self._codec = codec
        self._resumes = resumes
        self._run_ivr = run_ivr
        self._ender = ender
        self._owner = owner
        self._clock = clock
        self._gone_grace_s = gone_grace_s
        self._leaving = leaving

    # ---- joining -----------------------------------------------------------------------------
    async def join(self, session: Session) -> dict[str, Any]:
        call_id = session.subject
        lc = self._book.get(call_id)
        if lc is None:
            try:
                record = await self._records.claim(call_id)
            except OwnershipLost as exc:
                raise CallNotHere(f"call {call_id} is not served by {self._site}; ask central where it is") from exc
            lc = self._book.get(call_id)  # another join of the same call may have won meanwhile
            if lc is None:
                call = call_from_record(record, site=self._site, now=self._clock.now())
                lc = LiveCall(call, record, segment=record.segment)
                self._book.live[call_id] = lc
                self._records.claimed(call_id)
        if lc.session is not None and lc.session is not session:
            old, lc.session = lc.session, None
            with contextlib.suppress(Exception):  # the old socket hears why it goes quiet
                await old.send_event("replaced", {"call_id": call_id})
            old.closed = True
        lc.session = session
        self._owner.cancel_timer(f"call-gone:{call_id}")
        return {"call_id": call_id, "state": lc.call.state.value, "failovers": lc.call.failovers}

    async def offer(self, session: Session, sdp: str) -> str:
        lc = self._book[session.subject]
        leg, answer = await self._switch.answer_webrtc(self._leg_id(lc), sdp)
        self._attach(lc, leg)
        return answer

    async def rtp_offer(self, session: Session, sdp: str) -> str:
        """The SIP edge's caller: an RTP leg (a re-offer after a failover replaces the old one)."""
        lc = self._book[session.subject]
        leg, answer = await self._switch.answer_rtp(self._leg_id(lc), sdp)
        self._attach(lc, leg)
        return answer

    def no_media(self, session: Session) -> None:
        """The caller has no audio (``no_media``): a NullLeg; the IVR takes digits by signalling."""
        lc = self._book[session.subject]
        if isinstance(lc.leg, NullLeg) and not lc.leg.ended.done():
            return  # already media-less: nothing to replace
        leg = NullLeg(self._leg_id(lc), self._codec, self._switch.ticker)
        self._switch.add_leg(leg)
        self._attach(lc, leg)

    def digits(self, session: Session, digits: str) -> None:
        lc = self._book[session.subject]
        if lc.leg is not None:
            lc.leg.deliver_digit(digits, "signalling")

    def hang_up(self, session: Session) -> None:
        self._ender.end_call(self._book[session.subject], by="customer")

    def leave(self, session: Session) -> None:
        lc = self._book.get(session.subject)
        if lc is not None and lc.session is session:
            lc.session = None
            trunk = session.claims.extra.get("media") == "rtp"  # the SIP edge's socket, not a caller's
            self._owner.timer(f"call-gone:{lc.call_id}", self._gone_grace_s, lambda: self._gone(lc.call_id, trunk))

    def _gone(self, call_id: str, trunk: bool = False) -> None:
        """Nobody came back within the grace: a web caller hung up; a SIP edge that neither
        re-joined nor hung up has died with the caller's line (the edge re-joins within the
        grace after a site failover), so the caller is called back (:meth:`Leaving.trunk_lost`)."""
        lc = self._book.get(call_id)
        if lc is None or lc.session is not None:
            return
        if trunk and self._leaving is not None:
            self._leaving.trunk_lost(lc)
        else:
            self._ender.end_call(lc, by="customer")

    def _leg_id(self, lc: LiveCall) -> str:
        return f"{lc.call_id}:customer:{len(lc.transitions)}:{self._clock.now():.3f}"

    def _attach(self, lc: LiveCall, leg: Leg) -> None:
        old = lc.leg
        lc.leg = leg
        if lc.media is None:
            lc.media = self._switch.new_call(lc.call_id, leg.leg_id)
        leg.ended.add_done_callback(lambda _f: self._leg_ended(lc, leg.leg_id))
        if old is not None:
            self._owner.spawn(self._switch.close_leg(old.leg_id, "replaced"), "close-old-leg")
        if lc.driver is None:
            lc.driver = self._owner.spawn(self._drive(lc), f"call-{lc.call_id}")

    def _leg_ended(self, lc: LiveCall, leg_id: str) -> None:
        if lc.leg is not None and lc.leg.leg_id == leg_id and not lc.call.is_ended:
            self._ender.end_call(lc, by="customer")

    # ---- the call's own driver: IVR, or re-entry after a failover ----------------------------
    async def _drive(self, lc: LiveCall) -> None:
        with call_context(lc.call_id):
            try:
                resumed = lc.call.resumed_from
                if resumed in TALKING_STATES and lc.record.agent_id:
                    await self._resumes.rejoin_agent(lc, lc.record.agent_id)
                elif resumed in (RecordState.QUEUED, RecordState.OFFERED) and lc.record.queue:
                    self._resumes.enqueue(lc, lc.record.queue, lc.record.skill, lc.record.priority)
                else:
                    await self._run_ivr(lc, None)
            except asyncio.CancelledError:
                raise
            except Exception:
                log(_log, logging.ERROR, "call driver failed", call_id=lc.call_id, exc_info=True)
                if not lc.call.is_ended:
                    self._ender.end_call(lc, by="site", reason=EndReason.ERROR)
