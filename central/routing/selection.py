"""Site selection: a pure function over site snapshots.

Strategies (``central.site_strategy``):

- ``least_wait``: among healthy, non-draining sites that have the skill staffed, the one with
  the lowest expected wait for it; ties broken by more ready agents, then shorter queue, then
  name (deterministic).
- ``most_ready``: the most ready agents with the skill; then ``least_wait``'s order.
- ``home_branch``: the customer's home branch if it can serve the skill and its expected wait
  is within ``home_wait_slack_s`` of the best site's; otherwise ``least_wait``.

A site with the skill but nobody staffed for it is a last resort (calls queue there and wait
for an agent to log in) only when no site staffs it; a site without the skill at all is never
chosen, nor a draining or unhealthy one, nor an excluded one (e.g. the site that just died).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cluster.errors import CallCenterError

Strategy = Literal["least_wait", "home_branch", "most_ready"]


class NoSiteAvailable(CallCenterError):
    error_id = "route.no_site"
    status = 503


@dataclass(frozen=True, slots=True)
class SkillLoad:
    staffed: int = 0  # agents logged in with the skill
    ready: int = 0  # of them ready now
    waiting: int = 0  # calls queued for it
    expected_wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SiteSnapshot:
    name: str
    url: str = ""
    ws_url: str = ""
    healthy: bool = True
    draining: bool = False
    skills: Mapping[str, SkillLoad] = field(default_factory=dict)
    backup_sites: tuple[str, ...] = ()

    @classmethod
    def from_membership(cls, name: str, info: Mapping[str, Any]) -> SiteSnapshot:
        skills = {
            skill: SkillLoad(
                staffed=int(load.get("staffed", 0)),
                ready=int(load.get("ready", 0)),
                waiting=int(load.get("waiting", 0)),
                expected_wait_s=float(load.get("expected_wait_s", 0.0)),
            )
            for skill, load in dict(info.get("skills", {})).items()
        }
        return cls(
            name=name,
            url=str(info.get("url", "")),
            ws_url=str(info.get("ws_url", "")),
            healthy=bool(info.get("healthy", True)),
            draining=bool(info.get("draining", False)),
            skills=skills,
            backup_sites=tuple(info.get("backup_sites", ())),
        )


@dataclass(frozen=True, slots=True)
class SiteChoice:
    site: str
    reason: str
    expected_wait_s: float


def _order(load: SkillLoad, name: str) -> tuple[float, int, int, str]:
    return (load.expected_wait_s, -load.ready, load.waiting, name)


def select_site(
    sites: Iterable[SiteSnapshot],
    skill: str,
    *,
    strategy: Strategy = "least_wait",
    home_site: str | None = None,
    exclude: Iterable[str] = (),
    home_wait_slack_s: float = 30.0,
) -> SiteChoice:
    excluded = set(exclude)
    candidates = [
        (site, site.skills[skill])
        for site in sites
        if site.healthy and not site.draining and site.name not in excluded and skill in site.skills
    ]
    if not candidates:
        raise NoSiteAvailable(f"no healthy site serves skill {skill!r}", skill=skill)
    staffed = [(s, load) for s, load in candidates if load.staffed > 0]
    pool = staffed or candidates
    if strategy == "most_ready":
        site, load = min(pool, key=lambda sl: (-sl[1].ready, *_order(sl[1], sl[0].name)))
        return SiteChoice(site.name, "most_ready", load.expected_wait_s)
    site, load = min(pool, key=lambda sl: _order(sl[1], sl[0].name))
    if strategy == "home_branch" and home_site is not None:
        home = next(((s, ld) for s, ld in pool if s.name == home_site), None)
        if home is not None and home[1].expected_wait_s <= load.expected_wait_s + home_wait_slack_s:
            return SiteChoice(home[0].name, "home_branch", home[1].expected_wait_s)
    reason = "least_wait" if staffed else "unstaffed_fallback"
    return SiteChoice(site.name, reason, load.expected_wait_s)
