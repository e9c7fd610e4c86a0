"""Queueing and offering: the ACD decides, the dispatcher performs (offers, rings, answers).

ACD timers (timed overflow, maximum wait) run on one owned timer armed at the ACD's next
deadline; waiting callers hear their place on another, armed only while someone waits.
"""

from __future__ import annotations

import logging
from typing import Any

from cluster.clock import Clock
from cluster.logs import log
from cluster.tasks import TaskOwner
from site_node import call as callsm
from site_node.acd import Acd, Decision, LimitAction, LimitReached, OfferCall, Overflowed, QueueConfig, Queued
from site_node.agent import AgentState, Decline, Offer, RingTimeout, SetReady
from site_node.agent import Answer as AgentAnswer
from site_node.agents.live import LiveAgent
from site_node.audit import AuditTrail
from site_node.call import CallState
from site_node.call.routing import lost_at
from site_node.calls.live import CallBook, LiveCall
from site_node.calls.ports import Desk, Leaving, Records
from site_node.calls.screenpop import screen_pop
from site_node.crm.directory import Customers
from site_node.runtime.errors import BadCommand, NoMedia
from site_node.signalling.notify import Notify

_log = logging.getLogger("site_node.calls")
ANNOUNCE_EVERY_S = 2.0
VOICEMAIL_MAX_S = 60.0


class Dispatcher:
    def __init__(
        self,
        *,
        book: CallBook,
        desk: Desk,
        acd: Acd,
        queues: dict[str, QueueConfig],
        records: Records,
        leaving: Leaving,
        notify: Notify,
        owner: TaskOwner,
        clock: Clock,
        customers: Customers,
        ring_timeout_s: float,
        reattach_wait_s: float,
        audit: AuditTrail,
    ) -> None:
        self._audit = audit
        self._book = book
        self._desk = desk
        self._acd = acd
        self._queues = queues
        self._records = records
        self._leaving = leaving
        self._notify = notify
        self._owner = owner
        self._clock = clock
        self._customers = customers
        self._ring_s = ring_timeout_s
        self._reattach_wait_s = reattach_wait_s

    def queue(self, name: str) -> QueueConfig:
        queue = self._queues.get(name)
        if queue is None:
            raise BadCommand(f"unknown queue {name!r}", error_id="queue.unknown")
        return queue

    # ---- into the queue ----------------------------------------------------------------------
    def enqueue(self, lc: LiveCall, queue: str, skill: str, priority: int) -> None:
        lc.apply(callsm.Enqueue(queue, skill, priority), self._clock.now())
        if lc.media is not None:
            lc.media.to_ivr(queue_music=True)
        self._records.update(lc)
        self.arrive(lc, queue)

    def arrive(self, lc: LiveCall, queue: str, *, again: bool = False) -> None:
        """Hand the call (already in state queued) to the ACD; ``again``: back after an offer
        failed, keeping its place and ignoring the queue's limits."""
        extra: dict[str, Any] = {"enqueued_at": lc.call.queued_at, "bypass_limits": True} if again else {}
        self.decide(
            self._acd.on_call_arrival(
                lc.call_id,
                queue,
                self._clock.now(),
                priority=lc.call.priority,
                original_arrival_at=lc.call.original_arrival_at,
                **extra,
            )
        )

    def decide(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            lc = self._book.get(decision.call_id)
            if lc is None:
                continue
            if isinstance(decision, OfferCall):
                self._offer(lc, decision)
            elif isinstance(decision, Queued):
                self._notify.send(
                    lc.session,
                    "queued",
                    {
                        "queue": decision.queue,
                        "position": decision.position,
                        "expected_wait_s": decision.expected_wait_s,
                    },
                )
            elif isinstance(decision, Overflowed):
                lc.apply(callsm.Requeue(decision.to_queue, decision.skill), self._clock.now())
                self._records.update(lc)
            elif isinstance(decision, LimitReached):
                self._limit(lc, decision)
        self._arm_timers()

    def _limit(self, lc: LiveCall, decision: LimitReached) -> None:
        self._acd.remove_call(lc.call_id)
        if decision.action is LimitAction.VOICEMAIL:
            self._leaving.start_voicemail(lc, VOICEMAIL_MAX_S)
        else:
            self._leaving.callback_instead(lc, by="site")

    # ---- timers ------------------------------------------------------------------------------
    def _arm_timers(self) -> None:
        if self._owner.closed:
            return
        due = self._acd.next_timer_at()
        if due is not None:
            self._owner.timer("acd", due - self._clock.now(), self._acd_due)
        if self._acd.waiting() and not self._owner.has_timer("announce"):
            self._owner.timer("announce", ANNOUNCE_EVERY_S, self._announce)

    def _acd_due(self) -> None:
        self.decide(self._acd.tick(self._clock.now()))

    def _announce(self) -> None:
        """Tell waiting callers their place and expected wait (every 2 s, when it changed)."""
        for lc in self._book.values():
            if lc.call.state is not CallState.QUEUED or lc.session is None or lc.call.queue is None:
                continue
            position = self._acd.position(lc.call_id)
            ewt = self._acd.expected_wait(lc.call.queue, call_id=lc.call_id)
            update = (position, None if ewt is None else round(ewt))
            if position is not None and update != lc.announced:
                lc.announced = update
                self._notify.send(
                    lc.session, "queued", {"queue": lc.call.queue, "position": position, "expected_wait_s": update[1]}
                )
        self._arm_timers()

    # ---- offering ----------------------------------------------------------------------------
    def _offer(self, lc: LiveCall, decision: OfferCall) -> None:
        live = self._desk.get(decision.agent_id)
        if live is None:
            return
        self._desk.apply(live, Offer(lc.call_id, self._ring_s))
        lc.apply(callsm.OfferToAgent(live.agent_id), self._clock.now())
        self._records.update(lc)
        self._notify.send(lc.session, "offered", {"queue": decision.queue})
        self._owner.spawn(self._ring(lc, live, decision.waited_s), f"ring-{lc.call_id}")

    async def _ring(self, lc: LiveCall, live: LiveAgent, waited_s: float) -> None:
        pop = await screen_pop(self._customers, lc, waited_s)
        lc.screen_pop = pop
        self._notify.send(
            live.session, "ringing", {"call_id": lc.call_id, "ring_timeout_s": self._ring_s, "screen_pop": pop}
        )
        self._desk.push_state(live)
        if pop["customer"] is not None:  # the agent now sees the customer's record: audited
            await self._audit.record(
                actor=live.agent_id,
                role=live.role,
                action="customer_viewed",
                target=pop["customer"]["id"],
                details={"call_id": lc.call_id},
            )

    def ring_timed_out(self, live: LiveAgent, call_id: str) -> None:
        self._desk.apply(live, RingTimeout(call_id))
        self._agent_refused(live, call_id, "no_answer")

    def decline(self, live: LiveAgent, call_id: str) -> None:
        self._desk.apply(live, Decline(call_id))
        self._agent_refused(live, call_id, "declined")

    def _agent_refused(self, live: LiveAgent, call_id: str, why: str) -> None:
        self._acd.release(live.agent_id)
        self._acd.on_agent_unavailable(live.agent_id)
        if why == "no_answer":
            self._notify.send(live.session, "missed", {"call_id": call_id})
        self._desk.push_state(live)
        lc = self._book.get(call_id)
        if lc is not None and lc.call.state is CallState.OFFERED:
            self.requeue_after_offer(lc, why)

    def requeue_after_offer(self, lc: LiveCall, why: str) -> None:
        lc.apply(callsm.OfferFailed(why), self._clock.now())
        assert lc.call.queue is not None
        self._records.update(lc)
        self.arrive(lc, lc.call.queue, again=True)

    def answer(self, live: LiveAgent | None, call_id: str) -> None:
        lc = self._book[call_id]
        if live is None or live.agent.ringing_call_id != call_id:
            raise BadCommand(f"call {call_id} is not ringing for you")
        if live.leg is None:
            raise NoMedia("your softphone is not connected")
        self._desk.apply(live, AgentAnswer(call_id))
        lc.apply(callsm.Answer(), self._clock.now())
        if lc.call.queue is not None and lc.call.queued_at is not None:
            self._acd.record_answer(lc.call.queue, self._clock.now() - lc.call.original_arrival_at)
        self.connect(lc, live)

    def connect(self, lc: LiveCall, live: LiveAgent) -> None:
        assert live.leg is not None
        if lc.media is not None:
            lc.media.connect_agent(live.leg.leg_id)
            lc.media.start_recording()
        self._records.update(lc)
        self._notify.send(lc.session, "connected", {"agent": live.name})
        self._notify.send(live.session, "connected", {"call_id": lc.call_id, "data": lc.call.data.to_dict()})
        self._desk.push_state(live)

    async def rejoin_agent(self, lc: LiveCall, agent_id: str) -> None:
        """After a failover: put the caller back with the agent they were talking to."""
        live = await self._desk.wait_free(agent_id, self._reattach_wait_s)
        record = lc.record
        if live is None:
            log(
                _log,
                logging.WARNING,
                "agent did not re-attach; queueing the call",
                call_id=lc.call_id,
                agent_id=agent_id,
            )
            self.enqueue(lc, record.queue or record.skill, record.skill, record.priority)
            return
        now = self._clock.now()
        lc.apply(callsm.Enqueue(record.queue or record.skill, record.skill, record.priority), now)
        lc.apply(callsm.OfferToAgent(agent_id), now)
        if live.agent.state is AgentState.NOT_READY:
            self._desk.apply(live, SetReady())  # no await until answered: the ACD never sees it ready
        self._desk.apply(live, Offer(lc.call_id, self._ring_s))
        self._desk.apply(live, AgentAnswer(lc.call_id))
        self._acd.on_agent_unavailable(agent_id)
        lc.apply(callsm.Answer(), now)
        moved_at = lost_at(lc.call)
        if moved_at is not None:  # talking again: the time since the move is a gap, not talk
            lc.apply(callsm.ResumedAfterFailover(moved_at), self._clock.now())
        self.connect(lc, live)
