"""Where the load goes: central URLs, the sites (given or discovered) and the agent roster."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.request
from typing import Any

from loadtests.locust_calls import AgentSpec
from loadtests.locust_options import Settings

_log = logging.getLogger("loadtests.setup")


def discover_sites(settings: Settings, timeout_s: float = 5.0) -> dict[str, str]:
    """``--sites`` if given, else central's ``GET /v1/sites`` (name -> base URL)."""
    if settings.sites:
        return dict(settings.sites)
    last: Exception | None = None
    for url in settings.central_urls:
        try:
            with urllib.request.urlopen(url + "/v1/sites", timeout=timeout_s) as response:
                body: dict[str, Any] = json.loads(response.read())
            return {s["name"]: str(s["url"]).rstrip("/") for s in body.get("sites", []) if s.get("url")}
        except (OSError, ValueError, KeyError) as exc:
            last = exc
    raise RuntimeError(f"no central answered GET /v1/sites ({', '.join(settings.central_urls)}): {last}")


def _site_for(agent_id: str, sites: dict[str, str]) -> str:
    prefix = agent_id.rsplit("-", 1)[0]
    matches = [name for name in sites if name == prefix or name.endswith("-" + prefix)]
    if len(matches) != 1:
        raise ValueError(f"cannot tell the site of agent {agent_id!r}; write it as {agent_id}@<site>")
    return matches[0]


def agent_roster(settings: Settings, sites: dict[str, str]) -> list[AgentSpec]:
    """``--agents``: ``none``, ``demo:N`` (N seeded agents with ``--agent-skill`` per site, best
    level first), or ``id[@site],...``."""
    spec = settings.agents.strip()
    if spec in ("", "none", "0"):
        return []
    if spec.startswith("demo:"):
        from site_node.storage.seed import site_agents

        per_site = int(spec.split(":", 1)[1])
        roster: list[AgentSpec] = []
        for site in sorted(sites):
            _, skills = site_agents(site)
            having = sorted(
                (row for row in skills if row["skill"] == settings.agent_skill),
                key=lambda row: (-int(row["level"]), row["agent_id"]),
            )
            roster += [AgentSpec(row["agent_id"], site, sites[site]) for row in having[:per_site]]
        return roster
    roster = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        agent_id, _, site = item.partition("@")
        site = site or _site_for(agent_id, sites)
        if site not in sites:
            raise ValueError(f"agent {agent_id}: unknown site {site!r} (known: {', '.join(sorted(sites))})")
        roster.append(AgentSpec(agent_id, site, sites[site]))
    return roster


async def warm_up(central_urls: list[str], sites: int, *, dialled: str = "95589", attempts: int = 30) -> set[str]:
    """Take one media-less call per site through the IVR into the queue, so every site has
    rendered its prompts before the load starts (returns the sites reached). Calls stay queued
    until all sites are reached: central then spreads the next ones to the other sites."""
    from webrtc_client.client import ClientError, CustomerClient

    reached: set[str] = set()
    live: list[CustomerClient] = []
    try:
        for attempt in range(attempts):
            if len(reached) >= sites:
                break
            client = CustomerClient(central_urls, caller=f"1390{attempt:07d}", dialled=dialled, media=False)
            live.append(client)
            try:
                await client.call()
                for _ in range(8):
                    await client.press("0", how="signalling")
                    assert client.sig is not None
                    with contextlib.suppress(TimeoutError):
                        event = await client.sig.event("queued", "connected", "ended", timeout_s=1.5)
                        if event["event"] != "ended" and client.site:
                            reached.add(client.site)
                        break
            except (ClientError, TimeoutError) as exc:
                _log.warning("warm-up call failed (%s); retrying", exc)
    finally:
        for client in live:
            await client.hangup()
            await client.close()
    await asyncio.sleep(0.5)
    return reached
