"""Which contacts to offer or dial now, pure: ``decide(plan, hours, candidates, floor, now, gate)``.

* **preview**: each free agent is offered the next due contact; the agent calls or skips.
* **progressive**: the system dials for free agents at ``ratio`` calls per agent. At ratio 1
  every call has an agent reserved before it rings, so an answered call always has somebody
  (no abandons by construction); above 1 the extra calls ring without one (the bench measures
  what that costs in abandons).
* **blended**: with ``blend_below`` set, agents are kept for inbound while its service level is
  under that fraction.

Candidates come due-first (the store's order: priority, then ``next_at``, then id). One outside
its calling hours is deferred to its next window; one the gate refuses (do-not-call, consent
withdrawn) is blocked. Neither is ever dialled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from central.campaigns.errors import BadPolicy
from central.campaigns.hours import CallingHours

MAX_RATIO = 3.0


class Mode(StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"


@dataclass(frozen=True)
class DialPlan:
    mode: Mode = Mode.PREVIEW
    ratio: float = 1.0
    blend_below: float | None = None  # inbound service level under which agents stay inbound

    def __post_init__(self) -> None:
        if not 1.0 <= self.ratio <= MAX_RATIO:
            raise BadPolicy(f"the dialling ratio must be from 1 to {MAX_RATIO}", field="ratio", value=self.ratio)
        if self.mode is Mode.PREVIEW and self.ratio != 1.0:
            raise BadPolicy("preview dialling has no ratio (the agent dials)", field="ratio")
        if self.blend_below is not None and not 0.0 <= self.blend_below <= 1.0:
            raise BadPolicy("blend_below is a service level from 0 to 1", field="blend_below")


@dataclass(frozen=True)
class Candidate:
    id: int
    tz: str
    next_at: float = 0.0


@dataclass(frozen=True)
class Floor:
    """What the dialler sees of the floor now."""

    free_agents: Sequence[str]  # ready for this campaign, not reserved
    ringing: int = 0  # this campaign's calls still ringing
    ringing_reserved: int = 0  # ... of which have an agent reserved
    inbound_service_level: float | None = None


@dataclass(frozen=True)
class Decision:
    kind: str  # "offer" | "dial" | "defer" | "block"
    contact_id: int
    agent: str | None = None
    until: float | None = None  # defer: the next calling window (None: none in sight)
    reason: str | None = None  # block


@dataclass
class Decisions:
    actions: list[Decision] = field(default_factory=list)  # offers and dials
    deferred: list[Decision] = field(default_factory=list)
    blocked: list[Decision] = field(default_factory=list)
    held_for_inbound: bool = False


def _wanted(plan: DialPlan, floor: Floor) -> int:
    if plan.mode is Mode.PREVIEW:
        return len(floor.free_agents)
    target = math.floor((len(floor.free_agents) + floor.ringing_reserved) * plan.ratio + 1e-9)
    return max(0, target - floor.ringing)


def decide(plan: DialPlan, hours: CallingHours, candidates: Iterable[Candidate], floor: Floor, now: float,
           gate: Callable[[Candidate], str | None] = lambda _: None) -> Decisions:  # fmt: skip
    out = Decisions()
    if (plan.blend_below is not None and floor.inbound_service_level is not None
            and floor.inbound_service_level < plan.blend_below):  # fmt: skip
        out.held_for_inbound = True
        return out
    wanted = _wanted(plan, floor)
    agents = iter(floor.free_agents)
    for candidate in candidates:
        if len(out.actions) >= wanted:
            break
        if candidate.next_at > now:
            continue
        reason = gate(candidate)
        if reason is not None:
            out.blocked.append(Decision("block", candidate.id, reason=reason))
            continue
        if not hours.allowed(now, candidate.tz):
            out.deferred.append(Decision("defer", candidate.id, until=hours.next_allowed(now, candidate.tz)))
            continue
        agent = next(agents, None)
        kind = "offer" if plan.mode is Mode.PREVIEW else "dial"
        out.actions.append(Decision(kind, candidate.id, agent=agent))
    return out
