"""SLA policies per (type, priority) and the escalation decision (pure functions).

A policy gives the response deadline (the order is started) and the resolution deadline (it
is resolved), counted in business time unless it runs around the clock (emergencies). An open
order whose deadline is less than ``warn_before_s`` away is escalated, once per deadline, to
its policy's target (``queue:<name>`` or ``role:<name>``). The clocks do not pause while the
order waits for the customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from central.workorders.calendar import ALWAYS_OPEN, BusinessCalendar, add_business_seconds
from central.workorders.errors import UnknownPriority, UnknownType
from central.workorders.lifecycle import OPEN, Status


class OrderType(StrEnum):
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    INQUIRY = "inquiry"
    REPAIR = "repair"
    EMERGENCY = "emergency"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


def parse_type(raw: object) -> OrderType:
    try:
        return OrderType(str(raw))
    except ValueError:
        names = [t.value for t in OrderType]
        raise UnknownType(f"unknown work-order type {raw!r}; one of {names}", allowed=names) from None


def parse_priority(raw: object) -> Priority:
    try:
        return Priority(str(raw))
    except ValueError:
        names = [p.value for p in Priority]
        raise UnknownPriority(f"unknown priority {raw!r}; one of {names}", allowed=names) from None


@dataclass(frozen=True)
class SlaPolicy:
    response_s: float
    resolution_s: float
    business_hours: bool = True
    escalate_to: str = "role:team_leader"


H = 3600.0
_SCALE = {Priority.URGENT: 0.25, Priority.HIGH: 0.5, Priority.NORMAL: 1.0, Priority.LOW: 2.0}
_BASE = {  # type -> (response, resolution) at normal priority
    OrderType.COMPLAINT: (4 * H, 3 * 8 * H),
    OrderType.SUGGESTION: (2 * 8 * H, 10 * 8 * H),
    OrderType.INQUIRY: (4 * H, 2 * 8 * H),
    OrderType.REPAIR: (2 * H, 2 * 8 * H),
}


def default_policies() -> dict[tuple[OrderType, Priority], SlaPolicy]:
    table = {(t, p): SlaPolicy(r * _SCALE[p], z * _SCALE[p]) for t, (r, z) in _BASE.items() for p in Priority}
    for p in Priority:  # a gas leak: around the clock, straight to the emergency desk
        table[(OrderType.EMERGENCY, p)] = SlaPolicy(
            15 * 60 * _SCALE[p], 4 * H * _SCALE[p], business_hours=False, escalate_to="queue:emergency"
        )
    return table


@dataclass(frozen=True)
class Deadlines:
    response_due: float
    resolution_due: float


def deadlines(policy: SlaPolicy, calendar: BusinessCalendar, created_at: float) -> Deadlines:
    cal = calendar if policy.business_hours else ALWAYS_OPEN
    return Deadlines(
        add_business_seconds(cal, created_at, policy.response_s),
        add_business_seconds(cal, created_at, policy.resolution_s),
    )


def policy_for(table: Mapping[tuple[OrderType, Priority], SlaPolicy], kind: OrderType, priority: Priority) -> SlaPolicy:
    return table[(kind, priority)]


@dataclass(frozen=True)
class SlaView:
    """What the escalation decision needs to know of one order."""

    order_id: str
    status: Status
    response_due: float
    resolution_due: float
    responded_at: float | None
    escalated_response_at: float | None
    escalated_resolution_at: float | None
    escalate_to: str


class Deadline(StrEnum):
    RESPONSE = "response"
    RESOLUTION = "resolution"


@dataclass(frozen=True)
class Escalation:
    order_id: str
    deadline: Deadline
    due_at: float
    target: str
    breached: bool  # already past the deadline (not only close to it)


def due_escalations(orders: Iterable[SlaView], now: float, warn_before_s: float) -> list[Escalation]:
    """The escalations to raise at ``now``: open orders within ``warn_before_s`` of a deadline
    they have not met, not escalated for that deadline before; most urgent first."""
    found: list[Escalation] = []
    for o in orders:
        if o.status not in OPEN:
            continue
        if o.responded_at is None and o.escalated_response_at is None and now >= o.response_due - warn_before_s:
            found.append(
                Escalation(o.order_id, Deadline.RESPONSE, o.response_due, o.escalate_to, now >= o.response_due)
            )
        if o.escalated_resolution_at is None and now >= o.resolution_due - warn_before_s:
            found.append(
                Escalation(o.order_id, Deadline.RESOLUTION, o.resolution_due, o.escalate_to, now >= o.resolution_due)
            )
    return sorted(found, key=lambda e: (e.due_at, e.order_id, e.deadline.value))
