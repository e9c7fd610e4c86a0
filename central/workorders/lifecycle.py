"""The work-order lifecycle: a pure state machine, no I/O, no clock.

    new ──assign──> assigned ──start──> in_progress ──resolve──> resolved ──close──> closed
                      ^  assign (reassign)   │  ^                   │  ^               │
                      │                      │  └─customer_replied─┐│  │               │
                      │           wait_for_customer                ││  │               │
                      │                      v                     ││  │               │
                      │              waiting_for_customer ─resolve─┘└──┼───reopen──────┘
                      └──────────── reopened <──reopen─────────────────┘

``transition(status, event)`` gives the new status and the effects the driver performs
(:class:`Effect`), or raises ``workorder.transition_not_allowed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from central.workorders.errors import TransitionNotAllowed, UnknownEvent


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class Event(StrEnum):
    ASSIGN = "assign"
    START = "start"
    WAIT_FOR_CUSTOMER = "wait_for_customer"
    CUSTOMER_REPLIED = "customer_replied"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


class Effect(StrEnum):
    SET_ASSIGNEE = "set_assignee"  # the event names the new assignee
    RESPONDED = "responded"  # the response SLA is met (first start)
    RESOLVED = "resolved"  # the resolution SLA is met; the customer is notified (closed loop)
    CLOSED = "closed"
    REOPENED = "reopened"  # resolution no longer stands


@dataclass(frozen=True, slots=True)
class Step:
    status: Status
    effects: tuple[Effect, ...] = ()


S, E, F = Status, Event, Effect
TABLE: dict[tuple[Status, Event], Step] = {
    (S.NEW, E.ASSIGN): Step(S.ASSIGNED, (F.SET_ASSIGNEE,)),
    (S.ASSIGNED, E.ASSIGN): Step(S.ASSIGNED, (F.SET_ASSIGNEE,)),
    (S.ASSIGNED, E.START): Step(S.IN_PROGRESS, (F.RESPONDED,)),
    (S.IN_PROGRESS, E.ASSIGN): Step(S.ASSIGNED, (F.SET_ASSIGNEE,)),
    (S.IN_PROGRESS, E.WAIT_FOR_CUSTOMER): Step(S.WAITING_FOR_CUSTOMER),
    (S.IN_PROGRESS, E.RESOLVE): Step(S.RESOLVED, (F.RESOLVED,)),
    (S.WAITING_FOR_CUSTOMER, E.CUSTOMER_REPLIED): Step(S.IN_PROGRESS),
    (S.WAITING_FOR_CUSTOMER, E.RESOLVE): Step(S.RESOLVED, (F.RESOLVED,)),
    (S.RESOLVED, E.CLOSE): Step(S.CLOSED, (F.CLOSED,)),
    (S.RESOLVED, E.REOPEN): Step(S.REOPENED, (F.REOPENED,)),
    (S.CLOSED, E.REOPEN): Step(S.REOPENED, (F.REOPENED,)),
    (S.REOPENED, E.ASSIGN): Step(S.ASSIGNED, (F.SET_ASSIGNEE,)),
    (S.REOPENED, E.START): Step(S.IN_PROGRESS),
}
"""Every allowed (status, event); any other pair is refused."""

OPEN = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.WAITING_FOR_CUSTOMER, S.REOPENED})
"""Statuses whose SLA clocks still run."""


def parse_event(raw: object) -> Event:
    try:
        return Event(str(raw))
    except ValueError:
        raise UnknownEvent(
            f"unknown event {raw!r}; one of {[e.value for e in Event]}", allowed=[e.value for e in Event]
        ) from None


def transition(status: Status, event: Event) -> Step:
    """The step for ``event`` in ``status``, or ``workorder.transition_not_allowed``."""
    step = TABLE.get((status, event))
    if step is None:
        allowed = sorted(e.value for (s, e) in TABLE if s == status)
        raise TransitionNotAllowed(
            f"a work order that is {status.value} cannot {event.value}; allowed: {allowed}",
            status_now=status.value,
            event=event.value,
            allowed=allowed,
        )
    return step
