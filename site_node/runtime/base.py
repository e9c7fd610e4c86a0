"""Shared state of the site runtime: the live calls and agents and the parts they use.

The runtime is split by responsibility (calls, agents, the cluster link) into mixins that all
work on this one state; the pure machines (call, agent, ACD, IVR) make every decision and
these classes perform the effects (media, signalling, storage, etcd).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from cluster.callrecords import CallRecord, SiteCallStore
from cluster.clock import Clock
from cluster.config import Settings
from cluster.tokens import TokenSigner
from site_node.acd import Acd
from site_node.agent import Agent, AgentTransition
from site_node.call import Call, CallTransition
from site_node.ivr import FlowRegistry
from site_node.media.legs import Leg
from site_node.media.switch import CallMedia, MediaSwitch
from site_node.runtime.tasks import Owner
from site_node.signalling.control import Session
from site_node.storage import Storage

_log = logging.getLogger("site_node.runtime")


def _mixin_missing() -> TypeError:
    return TypeError("RuntimeState is only used through SiteRuntime, whose mixins implement this")


@dataclass(eq=False)
class LiveCall:
    call: Call
    record: CallRecord
    session: Session | None = None
    leg: Leg | None = None
    media: CallMedia | None = None
    transitions: list[CallTransition] = field(default_factory=list)
    driver: asyncio.Task[Any] | None = None
    segment: str | None = None
    language: str | None = None
    temporary_agent: str | None = None  # C5c: the agent the caller returns to
    finished: bool = False
    announced: tuple[int | None, int | None] | None = None
    outcome_elsewhere: bool = False
    record_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    leg_ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def call_id(self) -> str:
        return self.call.call_id


@dataclass(eq=False)
class LiveAgent:
    agent: Agent
    name: str
    skills: dict[str, int]
    role: str = "agent"
    session: Session | None = None
    leg: Leg | None = None
    transitions: list[AgentTransition] = field(default_factory=list)

    @property
    def agent_id(self) -> str:
        return self.agent.agent_id

    @property
    def current_call(self) -> str | None:
        ids = [c for c in self.agent.call_ids if c != self.agent.ringing_call_id]
        return ids[-1] if ids else None


class RuntimeState:
    """Attributes every runtime mixin relies on (set by :class:`SiteRuntime`)."""

    settings: Settings
    site: str
    clock: Clock
    storage: Storage
    acd: Acd
    flows: FlowRegistry
    switch: MediaSwitch
    signer: TokenSigner
    store: SiteCallStore
    owner: Owner
    calls: dict[str, LiveCall]
    wrapping: dict[str, LiveCall]
    agents: dict[str, LiveAgent]
    supervisors: dict[str, Session]
    supervisor_legs: dict[str, Leg]

    queue_configs: dict[str, Any]

    def now(self) -> float:
        return self.clock.now()

    # Implemented by the mixins of SiteRuntime; declared here (last in the MRO) for typing.
    def _apply(self, live: LiveAgent, event: Any) -> None:
        raise _mixin_missing()

    def _decide(self, decisions: list[Any]) -> None:
        raise _mixin_missing()

    def _decide_arrival(self, lc: LiveCall, queue: str) -> None:
        raise _mixin_missing()

    def apply_call(self, lc: LiveCall, event: Any) -> None:
        raise _mixin_missing()

    def available_again(self, live: LiveAgent) -> None:
        raise _mixin_missing()

    def push_agent_state(self, live: LiveAgent) -> None:
        raise _mixin_missing()

    def live_agent(self, session: Session) -> LiveAgent:
        raise _mixin_missing()

    def live_call(self, call_id: str) -> LiveCall:
        raise _mixin_missing()

    async def request_callback(self, lc: LiveCall, number: str | None) -> None:
        raise _mixin_missing()

    async def voicemail(self, lc: LiveCall, max_s: float) -> None:
        raise _mixin_missing()

    def end_call(self, lc: LiveCall, *, by: str, reason: Any = None) -> None:
        raise _mixin_missing()

    def enqueue(self, lc: LiveCall, queue: str, skill: str, priority: int) -> None:
        raise _mixin_missing()

    def update_record(self, lc: LiveCall, **changes: Any) -> None:
        raise _mixin_missing()

    def acd_queue(self, name: str) -> Any:
        raise _mixin_missing()

    async def _run_ivr(self, lc: LiveCall, flow_id: str | None) -> None:
        raise _mixin_missing()

    def ring_timeout(self, live: LiveAgent, call_id: str) -> None:
        raise _mixin_missing()

    def wrap_up_finished(self, live: LiveAgent) -> None:
        raise _mixin_missing()

    def return_from_ivr(self, lc: LiveCall) -> None:
        raise _mixin_missing()

    def _requeue_after_offer(self, lc: LiveCall, why: str) -> None:
        raise _mixin_missing()

    def requeue_from_agent(self, lc: LiveCall, live: LiveAgent) -> None:
        raise _mixin_missing()

    def end_wrap_up(self, live: LiveAgent, *, timeout: bool = False) -> None:
        raise _mixin_missing()

    def send(self, session: Session | None, event: str, data: dict[str, Any] | None = None) -> None:
        """Push an event to a client without blocking the caller (failures are logged)."""
        if session is not None and not session.closed:
            self.owner.spawn(session.send_event(event, data or {}), f"send-{event}")
