"""The agent desk: agents attached to this site, their states, timers and wrap-up.

An agent's softphone is one long-lived leg; calls are bridged to it. A token carries the
agent's skills and, after a site failover, the state the agent had at the failed site
(``resume``), so the desktop re-attaches at the backup site without typing credentials again.
The pure agent machine decides every change; the desk performs it (ACD index, timers, events
to the desktop) and tells the call side, through :class:`DeskHooks`, what concerns calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from cluster.clock import Clock
from cluster.errors import CallCenterError
from cluster.logs import log
from cluster.roles import Forbidden, allowed
from cluster.tasks import TaskOwner
from site_node.acd import Acd, Decision, UnknownAgent
from site_node.agent import (
    Agent,
    AgentEvent,
    AgentState,
    AgentTransition,
    EndWrapUp,
    Login,
    Logout,
    SetNotReady,
    SetReady,
    SetWrapUp,
    WrapUpTimeout,
)
from site_node.agents.live import LiveAgent
from site_node.agents.timers import NO_CODE, timers_view
from site_node.audit import AuditTrail
from site_node.config import AcdConfig
from site_node.media.legs import Leg
from site_node.runtime.errors import BadCommand
from site_node.runtime.errors import UnknownAgent as UnknownAgentError
from site_node.signalling.control import Session
from site_node.signalling.notify import Notify

_log = logging.getLogger("site_node.agents")


class DeskHooks(Protocol):
    """What the desk tells the call side."""

    def decide(self, decisions: list[Decision]) -> None:
        """ACD decisions that followed an agent becoming available."""

    def ring_timed_out(self, live: LiveAgent, call_id: str) -> None: ...

    def wrap_up_finished(self, live: LiveAgent) -> None: ...

    def wrap_up_coded(self, live: LiveAgent, code: str, notes: str) -> None: ...

    def agent_gone(self, live: LiveAgent) -> None:
        """The desktop did not come back within the grace time: its calls go elsewhere."""

    def leg_replaced(self, live: LiveAgent, old_leg_id: str) -> None:
        """The desktop re-offered (a reload): its calls' media move to ``live.leg``."""


class TransitionLog(Protocol):
    """Hears every applied transition (the agent state sessions, :mod:`site_node.agents.sessions`)."""

    def record(self, t: AgentTransition) -> None: ...


class LegCloser(Protocol):
    async def close_leg(self, leg_id: str, reason: str) -> None: ...


class AgentDesk:
    def __init__(
        self,
        *,
        site: str,
        clock: Clock,
        owner: TaskOwner,
        acd: Acd,
        notify: Notify,
        legs: LegCloser,
        config: AcdConfig,
        gone_grace_s: float,
        hooks: DeskHooks,
        audit: AuditTrail,
        sessions: TransitionLog | None = None,
    ) -> None:
        self.site = site
        self._sessions = sessions
        self._audit = audit
        self._clock = clock
        self._owner = owner
        self.acd = acd
        self._notify = notify
        self._legs = legs
        self._config = config
        self._gone_grace_s = gone_grace_s
        self._hooks = hooks
        self.agents: dict[str, LiveAgent] = {}
        self._changed = asyncio.Event()

    @property
    def wrap_up_s(self) -> float | None:
        """The after-call work timer, or None if the agent ends wrap-up by hand."""
        return self._config.wrap_up_s if self._config.auto_end_wrap_up else None

    # ---- attach ------------------------------------------------------------------------------
    def join(self, session: Session) -> dict[str, Any]:
        agent_id = session.subject
        extra = session.claims.extra
        live = self.agents.get(agent_id)
        role = extra.get("role")  # every login's token names one (tokens made by tests may not)
        if role is not None and not allowed(str(role), "calls.handle"):
            raise Forbidden(f"a {role} does not take calls (cluster.roles)", action="calls.handle")
        if live is None:
            skills = {str(k): int(v) for k, v in dict(extra.get("skills", {})).items()}
            if not skills:
                raise UnknownAgentError(f"agent {agent_id} has no skills", agent_id=agent_id)
            team = extra.get("team")
            live = LiveAgent(
                Agent(agent_id), str(extra.get("name", agent_id)), skills, str(extra.get("role", "agent")),
                team=None if team is None else str(team),
            )
            self.agents[agent_id] = live
            resume = dict(extra.get("resume") or {})
            self.apply(live, Login(ready=False, reason=str(resume.get("reason") or "login")))
            self.acd.add_agent(agent_id, skills)
            if resume.get("state") == AgentState.READY.value:
                self.set_ready(live)
        elif live.session is not None and live.session is not session:
            live.session.closed = True  # a newer desktop took over
        live.session = session
        self._owner.cancel_timer(f"agent-gone:{agent_id}")
        self._touch()
        return {"agent": self.view(live)}

    def attach_leg(self, session: Session, leg: Leg) -> None:
        live = self.live_agent(session)
        old, live.leg = live.leg, leg
        if old is not None:  # a reload at this site (a failover's first leg is not a replacement)
            self._hooks.leg_replaced(live, old.leg_id)
            self._owner.spawn(self._legs.close_leg(old.leg_id, "replaced"), "close-old-agent-leg")
        self.push_state(live)

    def leave(self, session: Session) -> None:
        live = self.agents.get(session.subject)
        if live is not None and live.session is session:
            live.session = None
            self._owner.timer(f"agent-gone:{live.agent_id}", self._gone_grace_s, lambda: self._gone(live.agent_id))

    def _gone(self, agent_id: str) -> None:
        live = self.agents.get(agent_id)
        if live is None or live.session is not None:
            return
        if live.agent.state.value not in ("logged_out", "not_ready"):
            self.apply(live, SetNotReady("disconnected"))  # offered nothing more, whatever follows
            self.acd.on_agent_unavailable(agent_id)
        self._hooks.agent_gone(live)
        with contextlib.suppress(CallCenterError):
            if live.agent.state is AgentState.AFTER_CALL_WORK:
                self.end_wrap_up(live)
            self.logout(live, reason="disconnected")

    def view(self, live: LiveAgent) -> dict[str, Any]:
        snap = live.agent.snapshot()
        return {
            **snap,
            **timers_view(live.agent, live.transitions, self._clock.now()),
            "name": live.name,
            "skills": live.skills,
            "site": self.site,
            "media": live.leg is not None,
        }

    def push_state(self, live: LiveAgent) -> None:
        self._notify.send(live.session, "agent_state", self.view(live))
        self._touch()

    def _touch(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_free(self, agent_id: str, timeout_s: float) -> LiveAgent | None:
        """Wait (on events, not a poll) until ``agent_id`` is here with a softphone and can take
        the call back (ready, idle or not ready); None after ``timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            live = self.agents.get(agent_id)
            if live is not None and live.leg is not None:
                if live.agent.can_take_offer or live.agent.state is AgentState.NOT_READY:
                    return live
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ---- the machine and its timers ----------------------------------------------------------
    def apply(self, live: LiveAgent, event: AgentEvent) -> None:
        now = self._clock.now()
        transition = live.agent.apply(event, now)
        live.transitions.append(transition)
        if self._sessions is not None:
            self._sessions.record(transition)
        deadline = live.agent.next_deadline
        key = f"agent-timer:{live.agent_id}"
        if deadline is None:
            self._owner.cancel_timer(key)
        else:
            self._owner.timer(key, deadline - now, lambda: self._timer(live.agent_id))

    def _timer(self, agent_id: str) -> None:
        live = self.agents.get(agent_id)
        if live is None:
            return
        event = live.agent.due_event(self._clock.now())
        if isinstance(event, WrapUpTimeout):
            self.end_wrap_up(live, timeout=True)
        elif event is not None:
            self._hooks.ring_timed_out(live, event.call_id)  # type: ignore[union-attr]

    # ---- states ------------------------------------------------------------------------------
    def set_ready(self, live: LiveAgent) -> None:
        self.apply(live, SetReady())
        self._hooks.decide(self.acd.on_agent_ready(live.agent_id, self._clock.now(), idle_since=live.agent.idle_since))
        self.push_state(live)

    def available_again(self, live: LiveAgent) -> None:
        """After wrap-up or a cancelled offer: index the agent again if it is ready."""
        if live.agent.state is AgentState.READY:
            self._hooks.decide(
                self.acd.on_agent_ready(live.agent_id, self._clock.now(), idle_since=live.agent.idle_since)
            )
        else:
            self.acd.on_agent_unavailable(live.agent_id)
        self.push_state(live)

    def set_not_ready(self, live: LiveAgent, reason: str) -> None:
        self.apply(live, SetNotReady(reason))
        if live.agent.state is AgentState.NOT_READY:
            self.acd.on_agent_unavailable(live.agent_id)
        self.push_state(live)

    def command_state(self, session: Session, state: str, reason: str | None) -> None:
        live = self.live_agent(session)
        if state == "ready":
            if live.leg is None:
                raise BadCommand(
                    "connect the softphone (send an SDP offer) before going ready", error_id="media.not_connected"
                )
            self.set_ready(live)
        elif state == "not_ready":
            self.set_not_ready(live, reason or "break")
        elif state == "logout":
            self.logout(live)
        else:
            raise BadCommand(f"unknown agent state {state!r}")

    def wrap_up(self, session: Session, code: str, notes: str, end: bool) -> None:
        live = self.live_agent(session)
        self.apply(live, SetWrapUp(code, notes[:2000]))
        self._hooks.wrap_up_coded(live, code, notes[:2000])
        if end:
            self.end_wrap_up(live)
        else:
            self.push_state(live)

    def end_wrap_up(self, live: LiveAgent, *, timeout: bool = False) -> None:
        if timeout and live.agent.wrap_up_code is None:
            self._hooks.wrap_up_coded(live, NO_CODE, "")  # the record says no code was given
        self.apply(live, WrapUpTimeout() if timeout else EndWrapUp())
        self._hooks.wrap_up_finished(live)
        self.available_again(live)

    def logout(self, live: LiveAgent, *, reason: str = "agent") -> None:
        if live.agent.state not in (AgentState.READY, AgentState.NOT_READY):
            raise BadCommand("finish the call and wrap-up before logging out")
        self.apply(live, Logout())
        with contextlib.suppress(UnknownAgent):
            self.acd.remove_agent(live.agent_id)
        self.agents.pop(live.agent_id, None)
        self.push_state(live)
        if live.leg is not None:
            self._owner.spawn(self._legs.close_leg(live.leg.leg_id, "logout"), "close-agent-leg")
        log(_log, logging.INFO, "agent logged out", agent_id=live.agent_id)
        self._audit.spawn(actor=live.agent_id, role=live.role, action="logout", target=self.site,
                          details={"reason": reason})

    def reconfigure(self, agent_id: str, skills: dict[str, int], team: str | None, active: bool) -> bool:
        """An administrator's change to an agent attached here (False: not attached): new skills
        and team from the next offer on; a deactivated agent is logged out (once off any call)."""
        live = self.agents.get(agent_id)
        if live is None:
            return False
        if not active:
            with contextlib.suppress(BadCommand):  # on a call: finishes it, and cannot log in again
                self.logout(live, reason="deactivated")
            return True
        live.skills, live.team = dict(skills), team
        self._hooks.decide(self.acd.set_skills(agent_id, live.skills, self._clock.now()))
        self.push_state(live)
        return True

    # ---- look-ups ----------------------------------------------------------------------------
    def live_agent(self, session: Session) -> LiveAgent:
        live = self.agents.get(session.subject)
        if live is None or live.session is not session:
            raise UnknownAgentError(f"agent {session.subject} is not attached here", agent_id=session.subject)
        return live

    def get(self, agent_id: str | None) -> LiveAgent | None:
        return self.agents.get(agent_id) if agent_id else None

    def ready_with_phone(self, agent_id: str) -> LiveAgent:
        other = self.agents.get(agent_id)
        if other is None or other.leg is None:
            raise BadCommand(f"agent {agent_id} is not logged in here with a softphone", error_id="agent.unavailable")
        if other.agent.state is not AgentState.READY:
            raise BadCommand(f"agent {agent_id} is {other.agent.state.value}", error_id="agent.unavailable")
        return other

    def summary(self) -> dict[str, Any]:
        """What the site publishes about its agents (used for re-attach after a failover)."""
        return {
            agent_id: {
                "state": live.agent.state.value,
                "reason": live.agent.reason,
                "call_id": live.current_call,
                "name": live.name,
            }
            for agent_id, live in self.agents.items()
        }
