"""Customer calls at a site: join, IVR, queue, offer, answer, end, and the call detail record.

The call's own machine, the agent machines and the ACD decide; this module performs: media
operations, events to the customer's and agents' clients, the routing record in etcd (queued,
connected, finished) and, when the call ends, the CDR and its events in the site database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from cluster.callrecords import CallRecord, OwnershipLost
from cluster.errors import EtcdUnavailable
from cluster.logs import call_context, log
from site_node import call as callsm
from site_node.acd import Decision, LimitAction, LimitReached, OfferCall, Overflowed, Queued
from site_node.agent import AgentState, CallEnded, Offer, OfferCancelled, RingTimeout, SetReady
from site_node.agent import Answer as AgentAnswer
from site_node.call import Call, CallData, CallEvent, CallState, EndReason
from site_node.call.events import TALKING_STATES
from site_node.ivr import EnqueueCall, HangupCall, StartVoicemail, TransferCall
from site_node.media.codecs import codec_by_name
from site_node.media.legs import Leg
from site_node.media.null_leg import NullLeg
from site_node.runtime.base import LiveAgent, LiveCall, RuntimeState
from site_node.runtime.errors import BadCommand, CallNotHere, NoMedia, UnknownCall
from site_node.runtime.ivr_driver import run_flow
from site_node.runtime.ivr_host import CallIvrHost
from site_node.signalling.control import Session
from site_node.storage import RecordingMeta

_log = logging.getLogger("site_node.runtime.calls")

REATTACH_WAIT_S = 15.0


class CallsMixin(RuntimeState):
    # ---- joining ---------------------------------------------------------------------------
    async def customer_join(self, session: Session) -> dict[str, Any]:
        call_id = session.subject
        lc = self.calls.get(call_id)
        if lc is None:
            try:
                record = await self.store.claim(call_id)
            except OwnershipLost as exc:
                raise CallNotHere(f"call {call_id} is not served by {self.site}; ask central where it is") from exc
            call = Call(
                call_id,
                site=self.site,
                caller_number=record.caller,
                dialled_number=record.dialled,
                now=self.now(),
                priority=record.priority,
                original_arrival_at=record.original_arrival_at,
                data=CallData.from_dict(record.data) if record.data else None,
            )
            call.failovers = record.failovers
            if record.state == "moving":
                call.resumed_from = record.state_before_move
            lc = LiveCall(call, record, segment=record.segment)
            self.calls[call_id] = lc
        elif lc.session is not None and lc.session is not session:
            lc.session.closed = True
        lc.session = session
        self.owner.cancel_timer(f"call-gone:{call_id}")
        return {"call_id": call_id, "state": lc.call.state.value, "failovers": lc.call.failovers}

    async def customer_offer(self, session: Session, sdp: str) -> str:
        lc = self.live_call(session.subject)
        leg, answer = await self.switch.answer_webrtc(self._customer_leg_id(lc), sdp)
        self._customer_leg(lc, leg)
        return answer

    async def customer_no_media(self, session: Session) -> None:
        """The caller has no audio (``no_media``): a NullLeg; the IVR takes digits by signalling."""
        lc = self.live_call(session.subject)
        if isinstance(lc.leg, NullLeg) and not lc.leg.ended.done():
            return  # already media-less: nothing to replace
        leg = NullLeg(self._customer_leg_id(lc), codec_by_name(self.switch.config.codecs[0]), self.switch.ticker)
        self.switch.add_leg(leg)
        self._customer_leg(lc, leg)

    def _customer_leg_id(self, lc: LiveCall) -> str:
        return f"{lc.call_id}:customer:{len(lc.transitions)}:{self.now():.3f}"

    def _customer_leg(self, lc: LiveCall, leg: Leg) -> None:
        old = lc.leg
        lc.leg = leg
        if lc.media is None:
            lc.media = self.switch.new_call(lc.call_id, leg.leg_id)
        leg.ended.add_done_callback(lambda _f: self._leg_ended(lc, leg.leg_id))
        if old is not None:
            self.owner.spawn(self.switch.close_leg(old.leg_id, "replaced"), "close-old-leg")
        lc.leg_ready.set()
        if lc.driver is None:
            lc.driver = self.owner.spawn(self._drive(lc), f"call-{lc.call_id}")

    def _leg_ended(self, lc: LiveCall, leg_id: str) -> None:
        if lc.leg is not None and lc.leg.leg_id == leg_id and not lc.call.is_ended:
            self.end_call(lc, by="customer")

    def live_call(self, call_id: str) -> LiveCall:
        lc = self.calls.get(call_id)
        if lc is None:
            raise UnknownCall(f"no live call {call_id} at {self.site}", call_id=call_id)
        return lc

    # ---- the call's own driver: IVR, or re-entry after a failover ----------------------------
    async def _drive(self, lc: LiveCall) -> None:
        with call_context(lc.call_id):
            try:
                resumed = lc.call.resumed_from
                if resumed in TALKING_STATES and lc.record.agent_id:
                    await self._rejoin_agent(lc, lc.record.agent_id)
                elif resumed in ("queued", "offered") and lc.record.queue:
                    self.enqueue(lc, lc.record.queue, lc.record.skill, lc.record.priority)
                else:
                    if resumed is not None:  # re-joined after a failover: the record leaves "moving"
                        self.update_record(lc, state="ivr")
                    await self._run_ivr(lc, None)
            except asyncio.CancelledError:
                raise
            except Exception:
                log(_log, logging.ERROR, "call driver failed", call_id=lc.call_id, exc_info=True)
                if not lc.call.is_ended:
                    self.end_call(lc, by="site", reason=EndReason.ERROR)

    async def _run_ivr(self, lc: LiveCall, flow_id: str | None) -> None:
        assert lc.leg is not None
        if flow_id is None:
            flow = self.flows.select(lc.call.dialled_number, lc.segment)
            self.apply_call(lc, callsm.StartIvr(flow.id, flow.version))
        else:
            flow = self.flows.latest(flow_id)
            lc.call.flow_id, lc.call.flow_version = flow.id, flow.version
        if lc.media is not None:
            lc.media.to_ivr()
        variables = {
            "caller_number": lc.call.caller_number,
            "dialled_number": lc.call.dialled_number,
            "segment": lc.segment,
            "customer_id": lc.call.data.customer_id,
        }
        result = await run_flow(CallIvrHost(self, lc), flow, language=lc.language, variables=variables)
        self._flow_finished(lc, result)

    def _flow_finished(self, lc: LiveCall, result: Any) -> None:
        if isinstance(result, EnqueueCall):
            self.enqueue(lc, result.queue, result.skill, result.priority)
        elif isinstance(result, TransferCall) and result.kind == "return_to_agent":
            self.return_from_ivr(lc)
        elif isinstance(result, TransferCall) and result.kind == "queue":
            queue = self.acd_queue(result.target)
            self.enqueue(lc, queue.name, queue.skill, lc.call.priority)
        elif isinstance(result, StartVoicemail):
            self.owner.spawn(self.voicemail(lc, result.max_s), f"voicemail-{lc.call_id}")
        elif isinstance(result, HangupCall):
            self.end_call(
                lc,
                by="site",
                reason=EndReason.ABANDONED_IN_IVR
                if lc.call.state is CallState.IN_IVR and result.reason == "abandoned"
                else None,
            )
        else:
            self.end_call(lc, by="site", reason=EndReason.REJECTED)

    def acd_queue(self, name: str) -> Any:
        queue = self.queue_configs.get(name)
        if queue is None:
            raise BadCommand(f"unknown queue {name!r}", error_id="queue.unknown")
        return queue

    # ---- queueing and offering ---------------------------------------------------------------
    def apply_call(self, lc: LiveCall, event: CallEvent) -> None:
        lc.transitions.append(lc.call.apply(event, self.now()))

    def enqueue(self, lc: LiveCall, queue: str, skill: str, priority: int) -> None:
        self.apply_call(lc, callsm.Enqueue(queue, skill, priority))
        if lc.media is not None:
            lc.media.to_ivr(queue_music=True)
        self.update_record(lc, state="queued", queue=queue, skill=skill, priority=priority)
        self._decide(
            self.acd.on_call_arrival(
                lc.call_id, queue, self.now(), priority=priority, original_arrival_at=lc.call.original_arrival_at
            )
        )

    def _decide(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            lc = self.calls.get(decision.call_id)
            if lc is None:
                continue
            if isinstance(decision, OfferCall):
                self._offer(lc, decision)
            elif isinstance(decision, Queued):
                self.send(
                    lc.session,
                    "queued",
                    {
                        "queue": decision.queue,
                        "position": decision.position,
                        "expected_wait_s": decision.expected_wait_s,
                    },
                )
            elif isinstance(decision, Overflowed):
                self.apply_call(lc, callsm.Requeue(decision.to_queue, decision.skill))
                self.update_record(lc, queue=decision.to_queue, skill=decision.skill)
            elif isinstance(decision, LimitReached):
                self._limit(lc, decision)

    def _limit(self, lc: LiveCall, decision: LimitReached) -> None:
        self.acd.remove_call(lc.call_id)
        if decision.action is LimitAction.VOICEMAIL:
            self.owner.spawn(self.voicemail(lc, 60.0), f"voicemail-{lc.call_id}")
        else:
            self.owner.spawn(self.request_callback(lc, lc.call.caller_number), f"callback-{lc.call_id}")
            self.end_call(lc, by="site", reason=EndReason.CALLBACK_REQUESTED)

    def _offer(self, lc: LiveCall, decision: OfferCall) -> None:
        live = self.agents.get(decision.agent_id)
        if live is None:
            return
        ring_s = self.settings.site.acd.ring_timeout_s
        self._apply(live, Offer(lc.call_id, ring_s))
        self.apply_call(lc, callsm.OfferToAgent(live.agent_id))
        self.update_record(lc, state="offered", agent_id=live.agent_id)
        self.send(lc.session, "offered", {"queue": decision.queue})
        self.owner.spawn(self._ring(lc, live, decision.waited_s, ring_s), f"ring-{lc.call_id}")

    async def _ring(self, lc: LiveCall, live: LiveAgent, waited_s: float, ring_s: float) -> None:
        from site_node.runtime.screenpop import screen_pop

        pop = await screen_pop(self.storage, lc, waited_s)
        self.send(live.session, "ringing", {"call_id": lc.call_id, "ring_timeout_s": ring_s, "screen_pop": pop})
        self.push_agent_state(live)

    def ring_timeout(self, live: LiveAgent, call_id: str) -> None:
        lc = self.calls.get(call_id)
        self._apply(live, RingTimeout(call_id))
        self.acd.release(live.agent_id)
        self.acd.on_agent_unavailable(live.agent_id)
        self.send(live.session, "missed", {"call_id": call_id})
        self.push_agent_state(live)
        if lc is not None and lc.call.state is CallState.OFFERED:
            self._requeue_after_offer(lc, "no_answer")

    def _requeue_after_offer(self, lc: LiveCall, why: str) -> None:
        self.apply_call(lc, callsm.OfferFailed(why))
        assert lc.call.queue is not None
        self.update_record(lc, state="queued", agent_id=None)
        self._decide(
            self.acd.on_call_arrival(
                lc.call_id,
                lc.call.queue,
                self.now(),
                priority=lc.call.priority,
                original_arrival_at=lc.call.original_arrival_at,
                enqueued_at=lc.call.queued_at,
                bypass_limits=True,
            )
        )

    def decline(self, session: Session, call_id: str) -> None:
        from site_node.agent import Decline

        live = self.agents[session.subject]
        self._apply(live, Decline(call_id))
        self.acd.release(live.agent_id)
        self.acd.on_agent_unavailable(live.agent_id)
        self.push_agent_state(live)
        lc = self.calls.get(call_id)
        if lc is not None and lc.call.state is CallState.OFFERED:
            self._requeue_after_offer(lc, "declined")

    def accept_call(self, session: Session, call_id: str) -> None:
        live = self.agents.get(session.subject)
        lc = self.live_call(call_id)
        if live is None or live.agent.ringing_call_id != call_id:
            raise BadCommand(f"call {call_id} is not ringing for you")
        if live.leg is None:
            raise NoMedia("your softphone is not connected")
        self._apply(live, AgentAnswer(call_id))
        self.apply_call(lc, callsm.Answer())
        if lc.call.queue is not None and lc.call.queued_at is not None:
            self.acd.record_answer(lc.call.queue, self.now() - lc.call.original_arrival_at)
        self._connect(lc, live)

    def _connect(self, lc: LiveCall, live: LiveAgent) -> None:
        assert live.leg is not None
        if lc.media is not None:
            lc.media.connect_agent(live.leg.leg_id)
            lc.media.start_recording()
        self.update_record(lc, state="connected", agent_id=live.agent_id)
        self.send(lc.session, "connected", {"agent": live.name})
        self.send(live.session, "connected", {"call_id": lc.call_id, "data": lc.call.data.to_dict()})
        self.push_agent_state(live)

    async def _rejoin_agent(self, lc: LiveCall, agent_id: str) -> None:
        """After a failover: put the caller back with the agent they were talking to."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REATTACH_WAIT_S
        while loop.time() < deadline:
            live = self.agents.get(agent_id)
            free = live is not None and (live.agent.can_take_offer or live.agent.state is AgentState.NOT_READY)
            if live is not None and live.leg is not None and free:
                self.apply_call(
                    lc, callsm.Enqueue(lc.record.queue or lc.record.skill, lc.record.skill, lc.record.priority)
                )
                self.apply_call(lc, callsm.OfferToAgent(agent_id))
                if live.agent.state is AgentState.NOT_READY:
                    self._apply(live, SetReady())  # no await until answered: the ACD never sees it ready
                self._apply(live, Offer(lc.call_id, self.settings.site.acd.ring_timeout_s))
                self._apply(live, AgentAnswer(lc.call_id))
                self.acd.on_agent_unavailable(agent_id)
                self.apply_call(lc, callsm.Answer())
                self._connect(lc, live)
                return
            await asyncio.sleep(0.1)
        log(_log, logging.WARNING, "agent did not re-attach; queueing the call", call_id=lc.call_id, agent_id=agent_id)
        self.enqueue(lc, lc.record.queue or lc.record.skill, lc.record.skill, lc.record.priority)

    # ---- ending ------------------------------------------------------------------------------
    def end_call(self, lc: LiveCall, *, by: str, reason: EndReason | None = None) -> None:
        """End the call from whatever state it is in; agents go to wrap-up; CDR written."""
        if lc.call.is_ended:
            return
        call = lc.call
        if lc.driver is not None and asyncio.current_task() is not lc.driver:
            lc.driver.cancel()
        state = call.state
        self.acd.remove_call(lc.call_id)
        for agent_id in {call.agent_id, call.offered_agent_id, call.consult_agent_id, *call.conference_agent_ids}:
            live = self.agents.get(agent_id) if agent_id else None
            if live is None or lc.call_id not in live.agent.call_ids:
                continue
            if live.agent.ringing_call_id == lc.call_id:
                self._apply(live, OfferCancelled(lc.call_id))
                self.acd.release(live.agent_id)
                self.available_again(live)
            else:
                self._apply(
                    live,
                    CallEnded(
                        lc.call_id,
                        self.settings.site.acd.wrap_up_s if self.settings.site.acd.auto_end_wrap_up else None,
                    ),
                )
                self.acd.release(live.agent_id)
                self.send(live.session, "moved" if by == "moved" else "call_ended", {"call_id": lc.call_id, "by": by})
                self.available_again(live)
        if reason is None:
            self.apply_call(lc, callsm.Hangup())
        else:
            self.apply_call(lc, callsm.End(reason))
        log(
            _log,
            logging.INFO,
            "call ended",
            call_id=lc.call_id,
            by=by,
            state_was=state.value,
            end_reason=str(call.end_reason),
        )
        if by != "moved":
            self.send(lc.session, "ended", {"reason": str(call.end_reason), "by": by})
        self.calls.pop(lc.call_id, None)
        if call.agent_id and call.answered_at is not None:
            self.wrapping[lc.call_id] = lc
        self.owner.spawn(self._finish(lc, by), f"finish-{lc.call_id}")

    async def _finish(self, lc: LiveCall, by: str) -> None:
        """Close the routing record first (the moment that decides whose outcome counts),
        then release the media and write the CDR."""
        if by != "moved":
            async with lc.record_lock:
                try:
                    await self.store.finish(lc.record)
                except OwnershipLost:
                    with contextlib.suppress(EtcdUnavailable):
                        if not await self.store.tombstone(lc.call_id):
                            lc.outcome_elsewhere = True  # the new owner's outcome counts
                except EtcdUnavailable:  # the CDR is written all the same: the outcome is not lost
                    log(_log, logging.ERROR, "routing record not closed: etcd unreachable", call_id=lc.call_id)
        info = lc.media.end() if lc.media is not None else None
        if lc.leg is not None and by != "moved":
            await self.switch.close_leg(lc.leg.leg_id, "ended")
        if info is not None:
            await self.storage.recordings.add_recording(
                RecordingMeta(
                    call_id=lc.call_id,
                    path=info.path,
                    started_at=info.started_at,
                    format="wav",
                    channels=info.channels,
                    ended_at=info.ended_at,
                    duration_s=info.duration_s,
                    paused_s=info.paused_s,
                )
            )
        await self.write_cdr(lc)

    @staticmethod
    def cdr_of(lc: LiveCall) -> dict[str, Any]:
        """The call's CDR; a call that ended here after another site took it over (we were
        paused past our lease) records ``failed_over``: the owner's row has the outcome."""
        cdr = lc.call.to_cdr()
        if lc.outcome_elsewhere:
            cdr["end_reason"] = EndReason.FAILED_OVER.value
        return cdr

    async def write_cdr(self, lc: LiveCall) -> None:
        events = [
            (t.event, t.at, {"old": t.old.value, "new": t.new.value, "agent_id": t.agent_id, "queue": t.queue})
            for t in lc.transitions
        ]
        await self.storage.calls.upsert_call(self.cdr_of(lc))
        if events and not lc.finished:
            await self.storage.calls.append_events(lc.call_id, events)
            lc.finished = True

    def wrap_up_finished(self, live: LiveAgent) -> None:
        for call_id, lc in list(self.wrapping.items()):
            if lc.call.agent_id == live.agent_id:
                self.wrapping.pop(call_id)
                lc.call.apply(callsm.WrapUpEnded(), self.now())
                handle = (lc.call.wrap_up_end_at or self.now()) - (lc.call.answered_at or self.now())
                if lc.call.queue is not None:
                    with contextlib.suppress(Exception):
                        self.acd.record_handle_time(lc.call.queue, handle)
                self.owner.spawn(self.storage.calls.upsert_call(self.cdr_of(lc)), f"cdr-{call_id}")

    # ---- the routing record in etcd ------------------------------------------------------------
    def update_record(self, lc: LiveCall, **changes: Any) -> None:
        changes["data"] = lc.call.data.to_dict()
        self.owner.spawn(self._update_record(lc, changes), f"record-{lc.call_id}")

    async def _update_record(self, lc: LiveCall, changes: dict[str, Any]) -> None:
        async with lc.record_lock:
            if lc.call.is_ended:
                return
            try:
                lc.record = await self.store.update(lc.record, **changes)
            except OwnershipLost:
                self.drop_moved(lc.call_id, None)
            except EtcdUnavailable:
                log(_log, logging.ERROR, "routing record not updated: etcd unreachable", call_id=lc.call_id)

    def drop_moved(self, call_id: str, record: CallRecord | None) -> None:
        """The leader gave this call to another site (we were paused or cut off): let it go."""
        lc = self.calls.get(call_id)
        if lc is None or lc.call.is_ended:
            return
        log(
            _log,
            logging.WARNING,
            "call moved away; dropping it here",
            call_id=call_id,
            to_site=None if record is None else record.site,
        )
        self.send(lc.session, "moved", {"site": None if record is None else record.site})
        self.end_call(lc, by="moved", reason=EndReason.FAILED_OVER)

    def agent_state_of(self, agent_id: str) -> AgentState | None:
        live = self.agents.get(agent_id)
        return None if live is None else live.agent.state
