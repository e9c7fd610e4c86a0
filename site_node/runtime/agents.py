"""Agents at a site: log in (HTTP, password), attach (WebSocket, token), states, wrap-up.

An agent's softphone is one long-lived WebRTC leg; calls are bridged to it. A token carries
the agent's skills and, after a site failover, the state the agent had at the failed site
(``resume``), so the desktop re-attaches at the backup site without typing credentials again.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from cluster.http import read_json
from cluster.logs import log
from site_node.acd import UnknownAgent
from site_node.agent import (
    Agent,
    AgentEvent,
    AgentState,
    EndWrapUp,
    Login,
    Logout,
    SetNotReady,
    SetReady,
    SetWrapUp,
    WrapUpTimeout,
)
from site_node.runtime.base import LiveAgent, RuntimeState
from site_node.runtime.errors import BadCommand, BadCredentials
from site_node.runtime.errors import UnknownAgent as UnknownAgentError
from site_node.signalling.control import Session

_log = logging.getLogger("site_node.runtime.agents")


class AgentsMixin(RuntimeState):
    # ---- HTTP: log in with a password -> token ---------------------------------------------
    async def http_login(self, request: web.Request) -> web.Response:
        body = await read_json(request, max_bytes=4096)
        agent_id, password = body.get("agent_id"), body.get("password")
        if not isinstance(agent_id, str) or not isinstance(password, str) or len(password) > 256:
            raise BadCredentials("agent_id and password are required")
        view = await self.storage.directory.authenticate(agent_id, password)
        if view is None or not view.active:
            await self.storage.audit.audit(
                at=self.now(), actor=agent_id[:64], action="login_failed", target=self.site, details={}
            )
            raise BadCredentials("unknown agent or wrong password")
        await self.storage.audit.audit(at=self.now(), actor=view.id, action="login", target=self.site, details={})
        token = self.signer.issue(
            "agent",
            view.id,
            site=self.site,
            ttl_s=self.settings.tokens.agent_ttl_s,
            name=view.name,
            skills=view.skills,
            role=view.role,
            backup_sites=list(self.settings.site.backup_sites),
            home_site=self.site,
        )
        return web.json_response(
            {"token": token, "agent": {"id": view.id, "name": view.name, "skills": view.skills, "role": view.role}}
        )

    # ---- attach over signalling ------------------------------------------------------------
    def agent_join(self, session: Session) -> dict[str, Any]:
        agent_id = session.subject
        extra = session.claims.extra
        live = self.agents.get(agent_id)
        if live is None:
            skills = {str(k): int(v) for k, v in dict(extra.get("skills", {})).items()}
            if not skills:
                raise UnknownAgentError(f"agent {agent_id} has no skills", agent_id=agent_id)
            live = LiveAgent(Agent(agent_id), str(extra.get("name", agent_id)), skills, str(extra.get("role", "agent")))
            self.agents[agent_id] = live
            resume = dict(extra.get("resume") or {})
            self._apply(live, Login(ready=False, reason=str(resume.get("reason") or "login")))
            self.acd.add_agent(agent_id, skills)
            if resume.get("state") == AgentState.READY.value:
                self.set_ready(live)
        elif live.session is not None and live.session is not session:
            live.session.closed = True  # a newer desktop took over
        live.session = session
        self.owner.cancel_timer(f"agent-gone:{agent_id}")
        return {"agent": self.agent_view(live)}

    def agent_view(self, live: LiveAgent) -> dict[str, Any]:
        snap = live.agent.snapshot()
        return {**snap, "name": live.name, "skills": live.skills, "site": self.site, "media": live.leg is not None}

    def push_agent_state(self, live: LiveAgent) -> None:
        self.send(live.session, "agent_state", self.agent_view(live))

    def _apply(self, live: LiveAgent, event: AgentEvent) -> None:
        live.transitions.append(live.agent.apply(event, self.now()))
        deadline = live.agent.next_deadline
        key = f"agent-timer:{live.agent_id}"
        if deadline is None:
            self.owner.cancel_timer(key)
        else:
            self.owner.timer(key, deadline - self.now(), lambda: self._agent_timer(live.agent_id))

    def _agent_timer(self, agent_id: str) -> None:
        live = self.agents.get(agent_id)
        if live is None:
            return
        event = live.agent.due_event(self.now())
        if isinstance(event, WrapUpTimeout):
            self.end_wrap_up(live, timeout=True)
        elif event is not None:
            self.ring_timeout(live, event.call_id)  # type: ignore[union-attr]

    # ---- states ------------------------------------------------------------------------------
    def set_ready(self, live: LiveAgent) -> None:
        self._apply(live, SetReady())
        self._decide(self.acd.on_agent_ready(live.agent_id, self.now(), idle_since=live.agent.idle_since))
        self.push_agent_state(live)

    def available_again(self, live: LiveAgent) -> None:
        """After wrap-up or a cancelled offer: index the agent again if it is ready."""
        if live.agent.state is AgentState.READY:
            self._decide(self.acd.on_agent_ready(live.agent_id, self.now(), idle_since=live.agent.idle_since))
        else:
            self.acd.on_agent_unavailable(live.agent_id)
        self.push_agent_state(live)

    def set_not_ready(self, live: LiveAgent, reason: str) -> None:
        self._apply(live, SetNotReady(reason))
        if live.agent.state is AgentState.NOT_READY:
            self.acd.on_agent_unavailable(live.agent_id)
        self.push_agent_state(live)

    def agent_state(self, session: Session, state: str, reason: str | None) -> None:
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
        self._apply(live, SetWrapUp(code, notes[:2000]))
        for lc in self.wrapping.values():
            if lc.call.agent_id == live.agent_id:
                lc.call.data.set_value("attributes", "wrap_up_code", code)
        if end:
            self.end_wrap_up(live)
        else:
            self.push_agent_state(live)

    def end_wrap_up(self, live: LiveAgent, *, timeout: bool = False) -> None:
        self._apply(live, WrapUpTimeout() if timeout else EndWrapUp())
        self.wrap_up_finished(live)
        self.available_again(live)

    def logout(self, live: LiveAgent) -> None:
        if live.agent.state not in (AgentState.READY, AgentState.NOT_READY):
            raise BadCommand("finish the call and wrap-up before logging out")
        self._apply(live, Logout())
        try:
            self.acd.remove_agent(live.agent_id)
        except UnknownAgent:
            pass
        self.agents.pop(live.agent_id, None)
        self.push_agent_state(live)
        if live.leg is not None:
            self.owner.spawn(self.switch.close_leg(live.leg.leg_id, "logout"), "close-agent-leg")
        log(_log, logging.INFO, "agent logged out", agent_id=live.agent_id)

    def live_agent(self, session: Session) -> LiveAgent:
        live = self.agents.get(session.subject)
        if live is None or live.session is not session:
            raise UnknownAgentError(f"agent {session.subject} is not attached here", agent_id=session.subject)
        return live

    def agents_summary(self) -> dict[str, Any]:
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
