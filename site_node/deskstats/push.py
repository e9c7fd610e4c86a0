"""Pushes each attached agent its desk figures when they change (one owned background loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cluster.clock import Clock
from site_node.agents.live import LiveAgent
from site_node.deskstats.figures import change_key, day_start, desk_figures, handled_calls
from site_node.signalling.notify import Notify

EVENT = "desk_stats"


class QueueSnapshot(Protocol):
    def snapshot(self, now: float) -> dict[str, Any]: ...


class DeskStatsPush:
    def __init__(
        self,
        *,
        agents: Callable[[], Mapping[str, LiveAgent]],
        acd: Callable[[], QueueSnapshot],
        notify: Notify,
        clock: Clock,
        every_s: float = 1.0,
        utc_offset_s: float = 0.0,
    ) -> None:
        self._agents = agents
        self._acd = acd
        self._notify = notify
        self._clock = clock
        self._every_s = every_s
        self._utc_offset_s = utc_offset_s
        self._sent: dict[str, tuple[str, tuple[Any, ...]]] = {}  # agent id -> (session id, key)
        self._handled: dict[str, tuple[int, float, list[float]]] = {}  # agent id -> (transitions, day, times)

    def _handled_today(self, agent_id: str, live: LiveAgent, now: float) -> list[float]:
        """The day's handle times, re-read only when the agent has new transitions or a new day began."""
        day = day_start(now, self._utc_offset_s)
        seen = self._handled.get(agent_id)
        if seen is None or seen[0] != len(live.transitions) or seen[1] != day:
            seen = (len(live.transitions), day, handled_calls(live.transitions, day))
            self._handled[agent_id] = seen
        return seen[2]

    def push_changed(self) -> int:
        """One round: send the figures to every desk whose figures (or session) changed."""
        now = self._clock.now()
        queues = self._acd().snapshot(now)["queues"]
        sent = 0
        agents = self._agents()
        for agent_id in [a for a in self._sent if a not in agents]:
            del self._sent[agent_id]
            self._handled.pop(agent_id, None)
        for agent_id, live in agents.items():
            session = live.session
            if session is None or session.closed:
                continue
            figures = desk_figures(live.skills, queues, live.transitions, now, utc_offset_s=self._utc_offset_s,
                                   handled=self._handled_today(agent_id, live, now))  # fmt: skip
            key = (session.session_id, change_key(figures, now))
            if self._sent.get(agent_id) == key:
                continue
            self._sent[agent_id] = key
            self._notify.send(session, EVENT, figures)
            sent += 1
        return sent

    async def run(self) -> None:
        """Until cancelled (the runtime's TaskOwner owns it and cancels it on stop)."""
        while True:
            self.push_changed()
            await asyncio.sleep(self._every_s)
