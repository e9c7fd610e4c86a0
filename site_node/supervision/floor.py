"""The site's floor as the console sees it: the desk, the call book and the ACD's queues."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from site_node.acd import Acd
from site_node.agents import AgentDesk, LiveAgent
from site_node.calls.live import CallBook, LiveCall


class SiteFloor:
    """Adapts the runtime's services (built at start) to :class:`~site_node.supervision.api.Floor`."""

    def __init__(self, desk: Callable[[], AgentDesk], book: CallBook, acd: Callable[[], Acd]) -> None:
        self._desk = desk
        self._book = book
        self._acd = acd

    def floor_agents(self) -> Mapping[str, LiveAgent]:
        return self._desk().agents

    def floor_calls(self) -> Mapping[str, LiveCall]:
        return self._book.live

    def floor_queues(self, now: float) -> Mapping[str, Mapping[str, Any]]:
        queues: Mapping[str, Mapping[str, Any]] = self._acd().snapshot(now)["queues"]
        return queues

    def force_not_ready(self, live: LiveAgent, reason: str) -> None:
        self._desk().set_not_ready(live, reason)
