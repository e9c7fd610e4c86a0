"""What the call services need of the rest of the site (small protocols, passed in by the
composition root in :mod:`site_node.runtime.service`)."""

from __future__ import annotations

from typing import Protocol

from site_node.agent import AgentEvent
from site_node.agents.live import LiveAgent
from site_node.call import EndReason
from site_node.calls.live import LiveCall


class Desk(Protocol):
    """The agent desk (:class:`site_node.agents.AgentDesk`)."""

    @property
    def wrap_up_s(self) -> float | None: ...

    def get(self, agent_id: str | None) -> LiveAgent | None: ...

    def apply(self, live: LiveAgent, event: AgentEvent) -> None: ...

    def available_again(self, live: LiveAgent) -> None: ...

    def push_state(self, live: LiveAgent) -> None: ...

    def ready_with_phone(self, agent_id: str) -> LiveAgent: ...

    async def wait_free(self, agent_id: str, timeout_s: float) -> LiveAgent | None: ...


class Records(Protocol):
    """The call's routing record (:class:`site_node.calls.records.RecordSync`)."""

    def update(self, lc: LiveCall) -> None: ...

    async def close(self, lc: LiveCall) -> None: ...


class Ender(Protocol):
    def end_call(self, lc: LiveCall, *, by: str, reason: EndReason | None = None) -> None: ...


class Leaving(Protocol):
    """A caller who stops waiting (:class:`site_node.messages.Messages`)."""

    def callback_instead(self, lc: LiveCall, *, by: str) -> None: ...

    def start_voicemail(self, lc: LiveCall, max_s: float) -> None: ...

    def trunk_lost(self, lc: LiveCall) -> None: ...


class LegCloser(Protocol):
    async def close_leg(self, leg_id: str, reason: str) -> None: ...
