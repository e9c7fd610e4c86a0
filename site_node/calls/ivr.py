"""A call in the IVR: run its flow, then do what the flow ended with (queue, return to the
agent, voicemail, hang up). The flow itself is pure (:mod:`site_node.ivr`); the driver
(:mod:`site_node.calls.ivr_driver`) performs its effects."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from cluster import ivr_path
from cluster.clock import Clock
from cluster.logs import log
from cluster.tasks import TaskOwner
from site_node import call as callsm
from site_node.agent import Retrieve
from site_node.call import CallState, EndReason
from site_node.calls.ivr_driver import run_flow
from site_node.calls.ivr_host import Callbacks, CallIvrHost, PinVerifier, PromptPlayer, Resources
from site_node.calls.live import LiveCall
from site_node.calls.ports import Desk, Ender, Leaving, Records
from site_node.crm.directory import Customers
from site_node.ivr import EnqueueCall, Flow, FlowRegistry, HangupCall, StartVoicemail, TransferCall
from site_node.ivr.errors import UnknownFlow
from site_node.signalling.notify import Notify

_log = logging.getLogger("site_node.calls.ivr")
NO_TRUNK = "outside numbers need the SIP trunk, which is not configured: an agent takes the call"


class Queueing(Protocol):
    def queue(self, name: str) -> Any: ...

    def enqueue(self, lc: LiveCall, queue: str, skill: str, priority: int) -> None: ...


class IvrRunner:
    def __init__(
        self,
        *,
        flows: FlowRegistry,
        prompts: PromptPlayer,
        customers: Customers,
        pins: PinVerifier,
        callbacks: Callbacks,
        queueing: Queueing,
        leaving: Leaving,
        ender: Ender,
        desk: Desk,
        records: Records,
        notify: Notify,
        clock: Clock,
        owner: TaskOwner,
        external_queue: str,
        transfer_wait_s: float,
        resources: Resources | None = None,
    ) -> None:
        self._flows = flows
        self._prompts = prompts
        self._customers = customers
        self._pins = pins
        self._callbacks = callbacks
        self._queueing = queueing
        self._leaving = leaving
        self._ender = ender
        self._desk = desk
        self._records = records
        self._notify = notify
        self._clock = clock
        self._owner = owner
        self._external_queue = external_queue
        self._transfer_wait_s = transfer_wait_s
        self._resources = resources

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
        while True:
            if lc.media is not None:
                lc.media.to_ivr()
            variables = {
                "caller_number": lc.call.caller_number,
                "dialled_number": lc.call.dialled_number,
                "segment": lc.segment,
                "customer_id": lc.call.data.customer_id,
            }
            host = CallIvrHost(
                lc,
                prompts=self._prompts,
                customers=self._customers,
                pins=self._pins,
                clock=self._clock,
                callbacks=self._callbacks,
                tell=lambda event, data: self._notify.send(lc.session, event, data),
                resources=self._resources,
            )
            result = await run_flow(
                host, flow, language=lc.language, variables=variables, on_exit=lambda f, n: _path_exit(lc, f, n)
            )
            served_here = self._our_number(lc, result)
            if served_here is None or not isinstance(result, TransferCall):
                break
            flow = served_here  # one of our own numbers: its flow goes on in the same call
            lc.call.flow_id, lc.call.flow_version = flow.id, flow.version
            lc.apply(callsm.AddAction(f"transferred to {result.target}"), self._clock.now())
        self._finished(lc, result)

    def _our_number(self, lc: LiveCall, result: Any) -> Flow | None:
        if not (isinstance(result, TransferCall) and result.kind == "number"):
            return None
        try:
            return self._flows.select(result.target, lc.segment)
        except UnknownFlow:
            return None

    def _finished(self, lc: LiveCall, result: Any) -> None:
        lc.call.ivr_path = ivr_path.with_end(lc.call.ivr_path, _end_kind(result))
        if isinstance(result, EnqueueCall):
            self._queueing.enqueue(lc, result.queue, result.skill, result.priority)
        elif isinstance(result, TransferCall) and result.kind == "return_to_agent":
            self.return_to_agent(lc)
        elif isinstance(result, TransferCall) and result.kind == "queue":
            queue = self._queueing.queue(result.target)
            self._queueing.enqueue(lc, queue.name, queue.skill, lc.call.priority)
        elif isinstance(result, TransferCall) and result.kind == "number":
            self._to_agent_instead(lc, result.target, NO_TRUNK)
        elif isinstance(result, TransferCall) and result.kind == "site":
            self._to_site(lc, result.target)
        elif isinstance(result, StartVoicemail):
            self._leaving.start_voicemail(lc, result.max_s)
        elif isinstance(result, HangupCall):
            abandoned = lc.call.state is CallState.IN_IVR and result.reason == "abandoned"
            self._ender.end_call(lc, by="site", reason=EndReason.ABANDONED_IN_IVR if abandoned else None)
        else:
            self._ender.end_call(lc, by="site", reason=EndReason.REJECTED)

    def _to_agent_instead(self, lc: LiveCall, wanted: str, reason: str) -> None:
        """A transfer that cannot be made: an agent takes the call, told what was asked for."""
        queue = self._queueing.queue(self._external_queue)
        now = self._clock.now()
        lc.apply(callsm.SetData("attributes", "transfer_wanted", wanted), now)
        lc.apply(callsm.SetData("attributes", "transfer_reason", reason), now)
        log(
            _log,
            logging.WARNING,
            "IVR transfer not possible; queued instead",
            call_id=lc.call_id,
            target=wanted,
            queue=queue.name,
            reason=reason,
        )
        self._notify.send(lc.session, "transfer_fallback", {"target": wanted, "queue": queue.name, "reason": reason})
        self._queueing.enqueue(lc, queue.name, queue.skill, lc.call.priority)

    def _to_site(self, lc: LiveCall, site: str) -> None:
        """Ask central to move the call to ``site`` (the record names it; the leader moves the
        call like a failover, same id, data and arrival). If it has not by ``transfer_wait_s``,
        an agent here takes the call."""
        lc.apply(callsm.StartTransfer(f"site:{site}"), self._clock.now())
        self._records.update(lc)
        self._owner.timer(f"transfer:{lc.call_id}", self._transfer_wait_s, lambda: self._site_did_not_take(lc, site))

    def _site_did_not_take(self, lc: LiveCall, site: str) -> None:
        if lc.call.state is not CallState.TRANSFERRING:
            return
        lc.apply(callsm.TransferFailed(), self._clock.now())
        self._to_agent_instead(lc, f"site:{site}", f"site {site} did not take the call")

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
        locked = bool(lc.call.data.attributes.get("verification_locked"))
        self._notify.send(
            live.session, "ivr_result", {"call_id": lc.call_id, "verified": bool(verified), "locked": locked}
        )
        self._notify.send(lc.session, "connected", {"agent": live.name})
        self._desk.push_state(live)


def _path_exit(lc: LiveCall, flow_id: str, node_id: str) -> None:
    lc.call.ivr_path = ivr_path.with_exit(lc.call.ivr_path, flow_id, node_id)


def _end_kind(result: Any) -> str:
    """How the flow handed the call over, as the CDR's ``ivr_path`` names it."""
    if isinstance(result, EnqueueCall) or (isinstance(result, TransferCall) and result.kind == "queue"):
        return "queue"
    if isinstance(result, StartVoicemail):
        return "voicemail"
    if isinstance(result, HangupCall) and result.reason != "abandoned":
        return "hangup"
    if isinstance(result, HangupCall):
        return "abandoned"
    return "transfer" if isinstance(result, TransferCall) else "other"
