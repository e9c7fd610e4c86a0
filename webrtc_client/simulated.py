"""Simulated agents for the demo and for load: real agent clients (login, WebRTC softphone,
ready) that answer what rings, talk for a while (a tone as their voice), hang up and wrap up.

    callcenter agents --site http://127.0.0.1:8010 --central http://127.0.0.1:8000 --count 3

Which agents: ``--agent`` names them; otherwise ``--count`` agents of the site are chosen
among the plain agents (``<branch>-04`` ... ``-09``; the manager, team leaders and
administrator stay free for people), so that together they cover as many skills as possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from cluster.tls import client_session
from webrtc_client.client import AgentClient, ClientError, post_json

_log = logging.getLogger("webrtc_client.simulated")
CANDIDATES = range(9, 3, -1)  # <branch>-09 down to -04


def _short(site_name: str) -> str:
    return site_name.removeprefix("branch-")


async def pick_agents(site_url: str, site_name: str, password: str, count: int) -> list[str]:
    """``count`` plain agents of the site whose skills together cover the most."""
    skills: dict[str, set[str]] = {}
    async with client_session() as http:
        for n in CANDIDATES:
            agent_id = f"{_short(site_name)}-{n:02d}"
            try:
                answer = await post_json(
                    http, site_url + "/v1/agents/login", {"agent_id": agent_id, "password": password}
                )
            except ClientError:
                continue
            skills[agent_id] = set(answer["agent"]["skills"])
    chosen: list[str] = []
    covered: set[str] = set()
    while skills and len(chosen) < count:
        best = max(skills, key=lambda a: (len(skills[a] - covered), len(skills[a]), a))
        chosen.append(best)
        covered |= skills.pop(best)
    return chosen


class SimulatedAgent:
    """One agent that takes every call offered, talks ``talk_s`` (randomised) and wraps up."""

    def __init__(
        self, make_client: Callable[[], AgentClient], *, talk_s: float, wrap_s: float, rng: random.Random
    ) -> None:
        self._make_client = make_client
        self.client = make_client()
        self.talk_s = talk_s
        self.wrap_s = wrap_s
        self._rng = rng
        self.answered = 0

    async def run(self) -> None:
        while True:  # the site may still be starting
            try:
                await self.client.login()
                await self.client.ready()
                break
            except (ClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                _log.info("simulated agent %s cannot start yet: %s", self.client.agent_id, exc)
                await self.client.close()
                self.client = self._make_client()
                await asyncio.sleep(1.0)
        _log.info("simulated agent ready: %s %s", self.client.agent_id, sorted(self.client.profile.get("skills", {})))
        while True:
            try:
                ring = await self.client.wait_ringing(timeout_s=3600)
            except TimeoutError:
                continue
            try:
                await self._serve(ring)
            except (ClientError, TimeoutError) as exc:  # the caller hung up first, a failover...
                _log.info("simulated agent %s: %s", self.client.agent_id, exc)
                with contextlib.suppress(ClientError, TimeoutError):
                    await self.client.wrap_up("simulated")

    async def _serve(self, ring: dict[str, Any]) -> None:
        call_id = str(ring["call_id"])
        await self.client.answer(call_id)
        self.answered += 1
        assert self.client.sig is not None
        talk = self.talk_s * self._rng.uniform(0.6, 1.4)
        with contextlib.suppress(TimeoutError):  # talk, unless the caller leaves first
            await self.client.sig.event("call_ended", "moved", timeout_s=talk)
            await asyncio.sleep(self.wrap_s)
            await self.client.wrap_up("simulated")
            return
        with contextlib.suppress(ClientError):
            await self.client.hangup()
        await asyncio.sleep(self.wrap_s)
        await self.client.wrap_up("resolved", "simulated agent")


async def run_agents(
    site_url: str,
    site_name: str,
    central_urls: Sequence[str],
    *,
    agent_ids: Sequence[str],
    count: int,
    password: str,
    talk_s: float,
    wrap_s: float,
    stop: asyncio.Event,
) -> None:
    ids = list(agent_ids) or await pick_agents(site_url, site_name, password, count)
    rng = random.Random(site_name)

    def client_for(agent_id: str, tone_hz: float) -> Callable[[], AgentClient]:
        return lambda: AgentClient(site_url, agent_id, password, central_urls=list(central_urls), tone_hz=tone_hz)

    agents = [
        SimulatedAgent(client_for(agent_id, rng.choice((550.0, 660.0))), talk_s=talk_s, wrap_s=wrap_s, rng=rng)
        for agent_id in ids
    ]
    print(f"simulated agents at {site_name}: {', '.join(ids) or 'none'}", flush=True)
    tasks = [asyncio.create_task(agent.run(), name=f"sim-{agent.client.agent_id}") for agent in agents]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for agent in agents:
            with contextlib.suppress(Exception):
                await agent.client.close()
