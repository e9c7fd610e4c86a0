"""One agent attached to this site: the pure machine plus its desktop session and softphone."""

from __future__ import annotations

from dataclasses import dataclass, field

from site_node.agent import Agent, AgentTransition
from site_node.media.legs import Leg
from site_node.signalling.control import Session


@dataclass(eq=False)
class LiveAgent:
    agent: Agent
    name: str
    skills: dict[str, int]
    role: str = "agent"
    team: str | None = None
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
