"""An agent's call control (C5): hold, consult, conference, transfers, temporary IVR, taps.

Each command is a transition of the call machine and the agent machine(s) involved, then the
matching change of the call's media topology and of the routing record (derived from the
call). Call-attached data travels untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from cluster.clock import Clock
from cluster.tasks import TaskOwner
from site_node import call as callsm
from site_node.acd import Acd, QueueConfig
from site_node.agent import AgentState, CallEnded, Decline, Dial, Hold, Offer, Retrieve
from site_node.agent import Answer as AgentAnswer
from site_node.agents.live import LiveAgent
from site_node.call import CallState
from site_node.calls.live import CallBook, LiveCall
from site_node.calls.ports import Desk, Ender, Records
from site_node.calls.screenpop import pop_now
from site_node.ivr import FlowRegistry
from site_node.media.legs import Leg
from site_node.media.topology import TapMode
from site_node.runtime.errors import BadCommand, NoMedia, UnknownCall
from site_node.signalling.notify import Notify


class Queueing(Protocol):
    def queue(self, name: str) -> QueueConfig: ...

    def arrive(self, lc: LiveCall, queue: str, *, again: bool = False) -> None: ...

    def requeue_after_offer(self, lc: LiveCall, why: str) -> None: ...


class CallControlService:
    def __init__(
        self,
        *,
        book: CallBook,
        desk: Desk,
        queueing: Queueing,
        ender: Ender,
        run_ivr: Callable[[LiveCall, str | None], Coroutine[Any, Any, None]],
        records: Records,
        flows: FlowRegistry,
        notify: Notify,
        acd: Acd,
        owner: TaskOwner,
        clock: Clock,
        consult_ring_s: float,
    ) -> None:
        self._book = book
        self._desk = desk
        self._queueing = queueing
        self._ender = ender
        self._run_ivr = run_ivr
        self._records = records
        self._flows = flows
        self._notify = notify
        self._acd = acd
        self._owner = owner
        self._clock = clock
        self._consult_ring_s = consult_ring_s

    def _apply(self, lc: LiveCall, event: callsm.CallEvent) -> None:
        lc.apply(event, self._clock.now())

    def current(self, live: LiveAgent) -> LiveCall:
        lc = self._book.get(live.current_call)
        if lc is None:
            raise UnknownCall("you have no call in progress")
        return lc

    def _end_agent_part(self, live: LiveAgent, lc: LiveCall, *, wrap: bool = True) -> None:
        self._desk.apply(live, CallEnded(lc.call_id, self._desk.wrap_up_s if wrap else 0))
        self._acd.release(live.agent_id)
        if wrap:
            self._book.wrapping[lc.call_id] = lc
        self._notify.send(live.session, "call_ended", {"call_id": lc.call_id, "by": "transfer"})
        self._desk.available_again(live)

    def hang_up(self, live: LiveAgent) -> None:
        lc = self.current(live)
        if lc.call.state is CallState.CONSULTING and lc.call.consult_agent_id == live.agent_id:
            self._cancel_consult(lc)
            return
        self._ender.end_call(lc, by="agent")

    def hold(self, live: LiveAgent) -> None:
        lc = self.current(live)
        self._apply(lc, callsm.Hold())
        self._desk.apply(live, Hold(lc.call_id))
        if lc.media is not None:
            lc.media.hold()
        self._records.update(lc)
        self._notify.send(lc.session, "on_hold", {})
        self._desk.push_state(live)

    def resume(self, live: LiveAgent) -> None:
        lc = self.current(live)
        self._apply(lc, callsm.Retrieve())
        self._desk.apply(live, Retrieve(lc.call_id))
        if lc.media is not None:
            lc.media.resume()
        self._records.update(lc)
        self._notify.send(lc.session, "resumed", {})
        self._desk.push_state(live)

    def consult(self, live: LiveAgent, target: str) -> None:
        lc = self.current(live)
        other = self._desk.ready_with_phone(target)
        assert other.leg is not None
        self._acd.on_agent_unavailable(other.agent_id)
        if live.agent.state is AgentState.ON_CALL:
            self._desk.apply(live, Hold(lc.call_id))
        self._desk.apply(live, Dial(lc.call_id))
        self._apply(lc, callsm.ConsultStart(other.agent_id))
        self._desk.apply(other, Offer(lc.call_id, self._consult_ring_s))
        self._desk.apply(other, AgentAnswer(lc.call_id))
        if lc.media is not None:
            lc.media.consult(other.leg.leg_id)
        self._records.update(lc)
        self._notify.send(
            other.session,
            "consulted",
            {"call_id": lc.call_id, "by": live.name, "data": lc.call.data.to_dict(), "screen_pop": pop_now(lc)},
        )
        self._notify.send(lc.session, "on_hold", {})
        self._desk.push_state(live)
        self._desk.push_state(other)

    def consult_complete(self, live: LiveAgent) -> None:
        lc = self.current(live)
        consulted = self._desk.get(lc.call.consult_agent_id)
        self._apply(lc, callsm.ConsultComplete())
        if lc.media is not None:
            lc.media.consult_complete()
        self._end_agent_part(live, lc)
        self._book.wrapping.pop(lc.call_id, None)  # the call goes on with the consulted agent
        if consulted is not None:
            self._records.update(lc)
            self._notify.send(consulted.session, "connected", {"call_id": lc.call_id, "data": lc.call.data.to_dict()})
            self._notify.send(lc.session, "connected", {"agent": consulted.name, "transferred": True})
        else:
            self._notify.send(lc.session, "resumed", {})

    def consult_cancel(self, live: LiveAgent) -> None:
        self._cancel_consult(self.current(live))

    def _cancel_consult(self, lc: LiveCall) -> None:
        consulted = self._desk.get(lc.call.consult_agent_id)
        self._apply(lc, callsm.ConsultCancel())
        if lc.media is not None:
            lc.media.consult_cancel()
        if consulted is not None:
            self._end_agent_part(consulted, lc, wrap=False)
        self._records.update(lc)
        self._notify.send(lc.session, "resumed", {})

    def conference(self, live: LiveAgent) -> None:
        lc = self.current(live)
        self._apply(lc, callsm.Conference())
        if lc.media is not None:
            lc.media.conference()
        self._records.update(lc)
        self._notify.send(lc.session, "conference", {})

    def transfer(self, live: LiveAgent, target: str, kind: str) -> None:
        lc = self.current(live)
        if kind == "agent":
            self.consult(live, target)
            self.consult_complete(live)
        elif kind == "queue":
            queue = self._queueing.queue(target)
            self._apply(lc, callsm.BlindTransfer(queue.name, queue.skill))
            self._end_agent_part(live, lc)
            self._book.wrapping.pop(lc.call_id, None)
            self._to_queue(lc, queue)
        elif kind in ("ivr", "ivr_return"):
            flow = self._flows.latest(target)
            if kind == "ivr":
                self._apply(lc, callsm.TransferToIvr(flow.id, flow.version))
                self._end_agent_part(live, lc)
            else:
                self._apply(lc, callsm.TemporaryIvr(flow.id, flow.version))
                self._desk.apply(live, Hold(lc.call_id))
                lc.temporary_agent = live.agent_id
                self._desk.push_state(live)
                self._notify.send(live.session, "ivr_started", {"call_id": lc.call_id, "flow": flow.id})
                self._notify.send(lc.session, "in_ivr", {"flow": flow.id, "returns_to": live.name})
            self._records.update(lc)
            if lc.driver is not None:
                lc.driver.cancel()
            lc.driver = self._owner.spawn(self._run_ivr(lc, flow.id), f"ivr-{lc.call_id}")
        else:
            raise BadCommand(f"unknown transfer kind {kind!r}")

    def _to_queue(self, lc: LiveCall, queue: QueueConfig) -> None:
        self._acd.remove_call(lc.call_id)
        if lc.media is not None:
            lc.media.to_ivr(queue_music=True)
        self._records.update(lc)
        self._queueing.arrive(lc, queue.name)

    def requeue_from_agent(self, lc: LiveCall, live: LiveAgent) -> None:
        """The agent's desktop is gone mid-call: the caller goes back to the queue (C5e)."""
        queue = self._queueing.queue(lc.call.queue or "")
        self._apply(lc, callsm.BlindTransfer(queue.name, queue.skill))
        self._end_agent_part(live, lc, wrap=False)
        self._to_queue(lc, queue)

    def agent_gone(self, live: LiveAgent) -> None:
        """The agent's desktop did not come back: nobody waits for it."""
        for call_id in list(live.agent.call_ids):
            lc = self._book.get(call_id)
            if lc is None:
                continue
            if live.agent.ringing_call_id == call_id:  # it only rang here: back in the queue, in place
                self._desk.apply(live, Decline(call_id))
                self._acd.release(live.agent_id)
                self._queueing.requeue_after_offer(lc, "agent_gone")
            elif lc.call.state is CallState.CONNECTED and lc.call.agent_id == live.agent_id and lc.call.queue:
                self.requeue_from_agent(lc, live)  # the caller waits for another agent, keeping its data
            else:
                self._ender.end_call(lc, by="agent")

    def tap(self, leg: Leg | None, call_id: str, mode: str) -> None:
        lc = self._book.get(call_id)
        if lc is None or lc.media is None:
            raise UnknownCall(f"no call {call_id} with media here")
        if leg is None:
            raise NoMedia("connect your softphone before listening in")
        lc.media.tap(leg.leg_id, TapMode(mode))
