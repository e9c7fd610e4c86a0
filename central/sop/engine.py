"""The SOP interpreter: one pure step function, ``step(definition, state, event, now)`` -> a
:class:`Step` (the new state and the effects the driver performs). No I/O, no clock reads: time
comes in as ``now``; the driver (:mod:`central.sop.service`) calls the resources a service task
names and feeds their answer back as :class:`Resolved`, and fires :class:`TimerDue` when a
timer's ``due_at`` passes. A refused event raises (an ``sop.*`` error) and the state it was
given is returned to nobody changed: states are immutable.

States: ``running`` (waiting at ``at``: a user task's form, a service task's answer, a timer),
then ``completed`` (with the end event's outcome), ``cancelled`` or ``failed`` (a service task
without ``on_error`` whose resources failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from central.resources.errors import ExpressionError
from central.sop.definition import Definition, Element
from central.sop.errors import BadRollback, Finished, NotWaiting, SopError

RUNNING, COMPLETED, CANCELLED, FAILED = "running", "completed", "cancelled", "failed"
MAX_AUTOMATIC_STEPS = 1000  # gateways chained into a loop with no task in it


@dataclass(frozen=True)
class Visit:
    """A user task entered, with the data as it was then (what a roll back restores)."""

    element: str
    data: Mapping[str, Any]
    at: float


@dataclass(frozen=True)
class State:
    status: str
    at: str | None  # the element waited on
    data: Mapping[str, Any]
    trail: tuple[Visit, ...] = ()
    due_at: float | None = None
    outcome: str | None = None
    path: tuple[str, ...] = ()  # every element passed, in order

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "at": self.at, "data": dict(self.data), "due_at": self.due_at,
                "outcome": self.outcome, "path": list(self.path),
                "trail": [{"element": v.element, "data": dict(v.data), "at": v.at} for v in self.trail]}  # fmt: skip

    @staticmethod
    def from_dict(raw: Mapping[str, Any]) -> State:
        trail = tuple(Visit(v["element"], v["data"], v["at"]) for v in raw["trail"])
        return State(raw["status"], raw["at"], raw["data"], trail, raw["due_at"], raw["outcome"], tuple(raw["path"]))


# events
@dataclass(frozen=True)
class Start:
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submit:
    element: str
    channel: str
    values: Any


@dataclass(frozen=True)
class Resolved:
    element: str
    values: Mapping[str, Any]
    errors: Mapping[str, Any]


@dataclass(frozen=True)
class TimerDue:
    element: str


@dataclass(frozen=True)
class RollBack:
    to: str


@dataclass(frozen=True)
class Cancel:
    reason: str


Event = Start | Submit | Resolved | TimerDue | RollBack | Cancel


# effects
@dataclass(frozen=True)
class Resolve:
    """Resolve these resource fields (data name -> field) with these inputs (resource input -> value)."""

    element: str
    fields: Mapping[str, str]
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class WaitUntil:
    element: str
    due_at: float


@dataclass(frozen=True)
class Ended:
    status: str
    outcome: str | None


Effect = Resolve | WaitUntil | Ended


@dataclass(frozen=True)
class Step:
    state: State
    effects: tuple[Effect, ...] = ()


def step(definition: Definition, state: State | None, event: Event, now: float) -> Step:
    if isinstance(event, Start):
        if state is not None:
            raise SopError("the instance has started already", error_id="sop.already_started")
        begin = State(RUNNING, None, dict(event.data))
        return _advance(definition, begin, definition.start, now)
    if state is None:
        raise SopError("start the instance first", error_id="sop.not_started")
    if state.status != RUNNING:
        raise Finished(f"the instance is {state.status}", status_now=state.status)
    if isinstance(event, Cancel):
        return Step(replace(state, status=CANCELLED, at=None, due_at=None, outcome=event.reason),
                    (Ended(CANCELLED, event.reason),))  # fmt: skip
    if isinstance(event, RollBack):
        return _roll_back(definition, state, event.to)
    element = _waiting(definition, state, event.element)
    if isinstance(event, Submit):
        if element.type != "user_task" or element.form is None:
            raise NotWaiting(f"{element.id}: a {element.type} takes no form", element=element.id)
        values = element.form.validate(element.id, event.channel, event.values)
        moved = replace(state, data={**state.data, **values})
        return _advance(definition, moved, _next(element), now)
    if isinstance(event, Resolved):
        if element.type != "service_task":
            raise NotWaiting(f"{element.id}: a {element.type} resolves no resources", element=element.id)
        data = {**state.data, **{k: v for k, v in event.values.items() if k in element.resolve}}
        if event.errors:
            failed = {"_errors": {element.id: dict(event.errors)}}
            if element.on_error is None:
                return Step(replace(state, status=FAILED, at=None, data={**data, **failed}, outcome="service_error"),
                            (Ended(FAILED, "service_error"),))  # fmt: skip
            return _advance(definition, replace(state, data={**data, **failed}), element.on_error, now)
        return _advance(definition, replace(state, data=data), _next(element), now)
    if element.type != "timer" or state.due_at is None:
        raise NotWaiting(f"{element.id}: not a timer", element=element.id)
    if now < state.due_at:
        raise NotWaiting(f"{element.id}: the timer is due at {state.due_at}", element=element.id)
    return _advance(definition, replace(state, due_at=None), _next(element), now)


def _waiting(definition: Definition, state: State, element_id: str) -> Element:
    element = definition.element(element_id)
    if state.at != element.id:
        raise NotWaiting(f"{element.id}: the instance waits at {state.at}, not here", element=element.id,
                         waiting_at=state.at)  # fmt: skip
    return element


def _next(element: Element) -> str:
    assert element.next is not None  # validated on publish
    return element.next


def _roll_back(definition: Definition, state: State, to: str) -> Step:
    target = definition.elements.get(to)
    if target is None or target.type != "user_task":
        raise BadRollback(f"{to}: only an earlier user task of this instance can be gone back to (not the start "
                          "event or beyond it)", element=to)  # fmt: skip
    for index in range(len(state.trail) - 1, -1, -1):
        visit = state.trail[index]
        if visit.element == to and not (index == len(state.trail) - 1 and state.at == to):
            return Step(replace(state, at=to, data=dict(visit.data), due_at=None, trail=state.trail[: index + 1],
                                path=(*state.path, to)))  # fmt: skip
    raise BadRollback(f"{to}: not an earlier task of this instance", element=to)


def _condition(expression: Any, data: Mapping[str, Any]) -> bool:
    try:
        return bool(expression.evaluate({n: data.get(n) for n in expression.names}))
    except ExpressionError:
        return False  # e.g. a comparison with a value not given: the condition does not hold


def _advance(definition: Definition, state: State, element_id: str, now: float) -> Step:
    """Walk from ``element_id`` through the elements that need nobody, to the next wait or an end."""
    path = list(state.path)
    for _ in range(MAX_AUTOMATIC_STEPS):
        element = definition.element(element_id)
        path.append(element.id)
        moved = replace(state, path=tuple(path), at=element.id, due_at=None)
        if element.type == "start":
            element_id = _next(element)
        elif element.type == "gateway":
            chosen = next((b.to for b in element.branches if _condition(b.when, state.data)), element.default)
            assert chosen is not None
            element_id = chosen
        elif element.type == "user_task":
            return Step(replace(moved, trail=(*state.trail, Visit(element.id, dict(state.data), now))))
        elif element.type == "service_task":
            inputs = {name: state.data.get(key) for name, key in element.inputs.items()}
            return Step(moved, (Resolve(element.id, element.resolve, inputs),))
        elif element.type == "timer":
            due = now + element.after_s
            return Step(replace(moved, due_at=due), (WaitUntil(element.id, due),))
        else:
            done = replace(moved, status=COMPLETED, at=None, outcome=element.outcome)
            return Step(done, (Ended(COMPLETED, element.outcome),))
    raise SopError(f"{element_id}: more than {MAX_AUTOMATIC_STEPS} steps without a task (a loop of gateways)",
                   error_id="sop.loop", element=element_id)  # fmt: skip
