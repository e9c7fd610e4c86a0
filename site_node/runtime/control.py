"""An agent's call control (C5): hold, consult, conference, transfers, temporary IVR, taps.

Each command is a transition of the call machine and the agent machine(s) involved, then the
matching change of the call's media topology. Call-attached data travels untouched.
"""

from __future__ import annotations

from site_node import call as callsm
from site_node.agent import AgentState, CallEnded, Dial, Hold, Offer, Retrieve
from site_node.agent import Answer as AgentAnswer
from site_node.call import CallState
from site_node.runtime.base import LiveAgent, LiveCall, RuntimeState
from site_node.runtime.errors import BadCommand, NoMedia, UnknownCall
from site_node.signalling.control import Session

CONSULT_RING_S = 30.0


class ControlMixin(RuntimeState):
    def _agent_call(self, session: Session) -> tuple[LiveAgent, LiveCall]:
        live = self.live_agent(session)
        call_id = live.current_call
        lc = self.calls.get(call_id) if call_id else None
        if lc is None:
            raise UnknownCall("you have no call in progress")
        return live, lc

    def _end_agent_part(self, live: LiveAgent, lc: LiveCall, *, wrap: bool = True) -> None:
        wrap_s = self.settings.site.acd.wrap_up_s if self.settings.site.acd.auto_end_wrap_up else None
        self._apply(live, CallEnded(lc.call_id, wrap_s if wrap else 0))
        self.acd.release(live.agent_id)
        if wrap:
            self.wrapping[lc.call_id] = lc
        self.send(live.session, "call_ended", {"call_id": lc.call_id, "by": "transfer"})
        self.available_again(live)

    def agent_hangup(self, session: Session) -> None:
        live, lc = self._agent_call(session)
        if lc.call.state is CallState.CONSULTING and lc.call.consult_agent_id == live.agent_id:
            self.consult_cancel_by(lc)
            return
        self.end_call(lc, by="agent")

    def hold_call(self, session: Session) -> None:
        live, lc = self._agent_call(session)
        self.apply_call(lc, callsm.Hold())
        self._apply(live, Hold(lc.call_id))
        if lc.media is not None:
            lc.media.hold()
        self.update_record(lc, state="held")
        self.send(lc.session, "on_hold", {})
        self.push_agent_state(live)

    def resume_call(self, session: Session) -> None:
        live, lc = self._agent_call(session)
        self.apply_call(lc, callsm.Retrieve())
        self._apply(live, Retrieve(lc.call_id))
        if lc.media is not None:
            lc.media.resume()
        self.update_record(lc, state="connected")
        self.send(lc.session, "resumed", {})
        self.push_agent_state(live)

    def _ready_agent(self, agent_id: str) -> LiveAgent:
        other = self.agents.get(agent_id)
        if other is None or other.leg is None:
            raise BadCommand(f"agent {agent_id} is not logged in here with a softphone", error_id="agent.unavailable")
        if other.agent.state is not AgentState.READY:
            raise BadCommand(f"agent {agent_id} is {other.agent.state.value}", error_id="agent.unavailable")
        return other

    def start_consult(self, session: Session, target: str) -> None:
        live, lc = self._agent_call(session)
        other = self._ready_agent(target)
        assert other.leg is not None
        self.acd.on_agent_unavailable(other.agent_id)
        if live.agent.state is AgentState.ON_CALL:
            self._apply(live, Hold(lc.call_id))
        self._apply(live, Dial(lc.call_id))
        self.apply_call(lc, callsm.ConsultStart(other.agent_id))
        self._apply(other, Offer(lc.call_id, CONSULT_RING_S))
        self._apply(other, AgentAnswer(lc.call_id))
        if lc.media is not None:
            lc.media.consult(other.leg.leg_id)
        self.update_record(lc, state="consulting")
        self.send(other.session, "consulted", {"call_id": lc.call_id, "by": live.name, "data": lc.call.data.to_dict()})
        self.send(lc.session, "on_hold", {})
        self.push_agent_state(live)
        self.push_agent_state(other)

    def complete_consult(self, session: Session) -> None:
        live, lc = self._agent_call(session)
        consulted = self.agents.get(lc.call.consult_agent_id or "")
        self.apply_call(lc, callsm.ConsultComplete())
        if lc.media is not None:
            lc.media.consult_complete()
        self._end_agent_part(live, lc)
        self.wrapping.pop(lc.call_id, None)  # the call goes on with the consulted agent
        if consulted is not None:
            self.update_record(lc, state="connected", agent_id=consulted.agent_id)
            self.send(consulted.session, "connected", {"call_id": lc.call_id, "data": lc.call.data.to_dict()})
        self.send(lc.session, "resumed", {})

    def cancel_consult(self, session: Session) -> None:
        _, lc = self._agent_call(session)
        self.consult_cancel_by(lc)

    def consult_cancel_by(self, lc: LiveCall) -> None:
        consulted = self.agents.get(lc.call.consult_agent_id or "")
        self.apply_call(lc, callsm.ConsultCancel())
        if lc.media is not None:
            lc.media.consult_cancel()
        if consulted is not None:
            self._end_agent_part(consulted, lc, wrap=False)
        self.update_record(lc, state="connected")
        self.send(lc.session, "resumed", {})

    def make_conference(self, session: Session) -> None:
        _, lc = self._agent_call(session)
        self.apply_call(lc, callsm.Conference())
        if lc.media is not None:
            lc.media.conference()
        self.update_record(lc, state="connected")
        self.send(lc.session, "conference", {})

    def transfer_call(self, session: Session, target: str, kind: str) -> None:
        live, lc = self._agent_call(session)
        if kind == "agent":
            self.start_consult(session, target)
            self.complete_consult(session)
        elif kind == "queue":
            queue = self.acd_queue(target)
            self.apply_call(lc, callsm.BlindTransfer(queue.name, queue.skill))
            self._end_agent_part(live, lc)
            self.wrapping.pop(lc.call_id, None)
            self.acd.remove_call(lc.call_id)
            if lc.media is not None:
                lc.media.to_ivr(queue_music=True)
            self.update_record(lc, state="queued", queue=queue.name, skill=queue.skill, agent_id=None)
            self._decide_arrival(lc, queue.name)
        elif kind in ("ivr", "ivr_return"):
            flow = self.flows.latest(target)
            if kind == "ivr":
                self.apply_call(lc, callsm.TransferToIvr(flow.id, flow.version))
                self._end_agent_part(live, lc)
            else:
                self.apply_call(lc, callsm.TemporaryIvr(flow.id, flow.version))
                self._apply(live, Hold(lc.call_id))
                lc.temporary_agent = live.agent_id
                self.push_agent_state(live)
                self.send(live.session, "ivr_started", {"call_id": lc.call_id, "flow": flow.id})
            self.update_record(lc, state="ivr")
            if lc.driver is not None:
                lc.driver.cancel()
            lc.driver = self.owner.spawn(self._run_ivr(lc, flow.id), f"ivr-{lc.call_id}")
        else:
            raise BadCommand(f"unknown transfer kind {kind!r}")

    def requeue_from_agent(self, lc: LiveCall, live: LiveAgent) -> None:
        """The agent's desktop is gone mid-call: the caller goes back to the queue (C5e)."""
        queue = self.acd_queue(lc.call.queue or "")
        self.apply_call(lc, callsm.BlindTransfer(queue.name, queue.skill))
        self._end_agent_part(live, lc, wrap=False)
        if lc.media is not None:
            lc.media.to_ivr(queue_music=True)
        self.update_record(lc, state="queued", queue=queue.name, skill=queue.skill, agent_id=None)
        self._decide_arrival(lc, queue.name)

    def return_from_ivr(self, lc: LiveCall) -> None:
        """C5c: the caller comes back to the very agent who sent them; the agent learns only
        whether the verification succeeded, never what was typed."""
        live = self.agents.get(lc.temporary_agent or "")
        self.apply_call(lc, callsm.ReturnFromIvr())
        lc.temporary_agent = None
        verified = lc.call.data.to_dict().get("verified")
        if live is None or live.leg is None:
            self.end_call(lc, by="site")
            return
        self._apply(live, Retrieve(lc.call_id))
        if lc.media is not None:
            lc.media.connect_agent(live.leg.leg_id)
        self.update_record(lc, state="connected")
        self.send(live.session, "ivr_result", {"call_id": lc.call_id, "verified": bool(verified)})
        self.push_agent_state(live)

    def tap_call(self, session: Session, call_id: str, mode: str) -> None:
        lc = self.calls.get(call_id)
        if lc is None or lc.media is None:
            raise UnknownCall(f"no call {call_id} with media here")
        leg = self.supervisor_legs.get(session.subject)
        if leg is None:
            live = self.agents.get(session.subject)
            leg = live.leg if live is not None else None
        if leg is None:
            raise NoMedia("connect your softphone before listening in")
        from site_node.media.topology import TapMode

        lc.media.tap(leg.leg_id, TapMode(mode))
