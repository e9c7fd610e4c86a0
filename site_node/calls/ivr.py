"""A call in the IVR: run its flow, then do what the flow ended with (queue, return to the
agent, voicemail, hang up). The flow itself is pure (:mod:`site_node.ivr`); the driver
(:mod:`site_node.calls.ivr_driver`) performs its effects."""

from __future__ import annotations

from typing import Any, Protocol

from cluster.clock import Clock
from site_node import call as callsm
from site_node.agent import Retrieve
from site_node.call import CallState, EndReason
from site_node.calls.ivr_driver import run_flow
from site_node.calls.ivr_host import Callbacks, CallIvrHost, PromptPlayer
from site_node.calls.live import LiveCall
from site_node.calls.ports import Desk, Ender, Leaving, Records
from site_node.ivr import EnqueueCall, FlowRegistry, HangupCall, StartVoicemail, TransferCall
from site_node.signalling.notify import Notify
from site_node.storage import Storage


class Queueing(Protocol):
    def queue(self, name: str) -> Any: ...

    def enqueue(self, lc: LiveCall, queue: str, skill: str, priority: int) -> None: ...


class IvrRunner:
    def __init__(
        self,
        *,
        flows: FlowRegistry,
        prompts: PromptPlayer,
        storage: Storage,
        callbacks: Callbacks,
        queueing: Queueing,
        leaving: Leaving,
        ender: Ender,
        desk: Desk,
        records: Records,
        notify: Notify,
        clock: Clock,
    ) -> None:
        self._flows = flows
        self._prompts = prompts
        self._storage = storage
        self._callbacks = callbacks
        self._queueing = queueing
        self._leaving = leaving
        self._ender = ender
        self._desk = desk
        self._records = records
        self._notify = notify
        self._clock = clock

    async def run(self, lc: LiveCall, flow_id: str | None) -> None:
        """Run the dialled number's flow (``flow_id`` None) or the flow an agent sent the call to."""
        assert lc.leg is not None
        if flow_id is None:
            flow = self._flows.select(lc.call.dialled_number, lc.segment)
            lc.apply(callsm.StartIvr(flow.id, flow.version), self._clock.now())
            if lc.call.resumed_from is not None:  # re-joined after a failover: the record leaves "moving"
                self._records.update(lc)
        else:
            flow = self._flows.latest(flow_id)
            lc.call.flow_id, lc.call.flow_version = flow.id, flow.version
        if lc.media is not None:
            lc.media.to_ivr()
        variables = {
            "caller_number": lc.call.caller_number,
            "dialled_number": lc.call.dialled_number,
            "segment": lc.segment,
            "customer_id": lc.call.data.customer_id,
        }
        host = CallIvrHost(
            lc, prompts=self._prompts, storage=self._storage, clock=self._clock, callbacks=self._callbacks
        )
        result = await run_flow(host, flow, language=lc.language, variables=variables)
        self._finished(lc, result)

    def _finished(self, lc: LiveCall, result: Any) -> None:
        if isinstance(result, EnqueueCall):
            self._queueing.enqueue(lc, result.queue, result.skill, result.priority)
        elif isinstance(result, TransferCall) and result.kind == "return_to_agent":
            self.return_to_agent(lc)
        elif isinstance(result, TransferCall) and result.kind == "queue":
            queue = self._queueing.queue(result.target)
            self._queueing.enqueue(lc, queue.name, queue.skill, lc.call.priority)
        elif isinstance(result, StartVoicemail):
            self._leaving.start_voicemail(lc, result.max_s)
        elif isinstance(result, HangupCall):
            abandoned = lc.call.state is CallState.IN_IVR and result.reason == "abandoned"
            self._ender.end_call(lc, by="site", reason=EndReason.ABANDONED_IN_IVR if abandoned else None)
        else:
            self._ender.end_call(lc, by="site", reason=EndReason.REJECTED)

    def return_to_agent(self, lc: LiveCall) -> None:
        """C5c: the caller comes back to the very agent who sent them; the agent learns only
        whether the verification succeeded, never what was typed."""
        live = self._desk.get(lc.temporary_agent)
        lc.apply(callsm.ReturnFromIvr(), self._clock.now())
        lc.temporary_agent = None
        verified = lc.call.data.to_dict().get("verified")
        if live is None or live.leg is None:
            self._ender.end_call(lc, by="site")
            return
        self._desk.apply(live, Retrieve(lc.call_id))
        if lc.media is not None:
            lc.media.connect_agent(live.leg.leg_id)
        self._records.update(lc)
        self._notify.send(live.session, "ivr_result", {"call_id": lc.call_id, "verified": bool(verified)})
        self._desk.push_state(live)
