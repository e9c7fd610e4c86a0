"""An SOP definition: parsed from YAML or JSON and validated whole on publish.

``{key, title, elements: [{id, type, ...}]}``, the element types being

    start          next                       where every instance begins (exactly one)
    user_task      title, form, next          waits for its form (:mod:`central.sop.forms`)
    service_task   resolve, inputs, next, on_error?
                   resolve: {data name: resource field}; inputs: {resource input: data name}
                   (the fields come from ``central.resources``, POST /v1/resources/resolve)
    gateway        branches: [{when, to}], default
                   exclusive: the first branch whose condition holds, else the default; conditions
                   are the whitelisted expression language of :mod:`central.resources.expr` over
                   the instance's data (no eval)
    timer          after_s, next              waits, on the injected clock
    end            outcome                    the instance completes with this outcome

Each refusal names the element: ``sop.unknown_element``, ``sop.unreachable``,
``sop.no_default_path``, ``sop.unknown_field_type``, ``sop.bad_condition``, ``sop.bad_definition``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from central.resources.errors import ExpressionError
from central.resources.expr import Expression, compile_expression
from central.sop.errors import BadCondition, BadDefinition, NoDefaultPath, UnknownElement, Unreachable
from central.sop.forms import NAME, Form, parse_form

ELEMENT_TYPES = ("start", "user_task", "service_task", "gateway", "timer", "end")
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ELEMENT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
RESOURCE_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")
MAX_ELEMENTS = 200
MAX_TIMER_S = 30 * 86400
_KEYS: Mapping[str, set[str]] = {
    "start": {"next"}, "user_task": {"title", "form", "next"},
    "service_task": {"title", "resolve", "inputs", "next", "on_error"},
    "gateway": {"branches", "default"}, "timer": {"after_s", "next"}, "end": {"outcome"},
}  # fmt: skip


@dataclass(frozen=True)
class Branch:
    when: Expression
    to: str


@dataclass(frozen=True)
class Element:
    id: str
    type: str
    next: str | None = None
    title: str = ""
    form: Form | None = None
    resolve: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    on_error: str | None = None
    branches: tuple[Branch, ...] = ()
    default: str | None = None
    after_s: float = 0.0
    outcome: str = "completed"

    def targets(self) -> list[str]:
        out = [t for t in (self.next, self.on_error, self.default) if t is not None]
        return out + [b.to for b in self.branches]


@dataclass(frozen=True)
class Definition:
    key: str
    title: str
    start: str
    elements: Mapping[str, Element]
    document: Mapping[str, Any]  # what was published: an instance's snapshot

    def element(self, element_id: str) -> Element:
        found = self.elements.get(element_id)
        if found is None:
            raise UnknownElement(f"{element_id}: no such element in {self.key}", element=element_id)
        return found


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases (a few aliases can expand into gigabytes)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("anchors and aliases (*name) are not accepted")
        return super().compose_node(parent, index)


def load_document(text: str) -> dict[str, Any]:
    """A document from YAML (JSON is YAML too) text; :class:`BadDefinition` when it is neither."""
    try:
        raw = yaml.load(text, Loader=_NoAliases)
    except (ValueError, yaml.YAMLError) as exc:
        raise BadDefinition(f"not YAML or JSON: {str(exc).splitlines()[0]}", field="document") from None
    if not isinstance(raw, dict):
        raise BadDefinition("a definition is an object with key, title and elements", field="document")
    return raw


def _bad(element: str, what: str, key: str) -> BadDefinition:
    return BadDefinition(f"{element}: {what}", element=element, field=key)


def _ref(element: str, raw: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not ELEMENT_ID.match(value):
        raise _bad(element, f"{key}: the id of another element", key)
    return value


def _names(element: str, raw: Any, key: str, left: re.Pattern[str], right: re.Pattern[str]) -> dict[str, str]:
    raw = {} if raw is None else raw
    if (
        not isinstance(raw, dict)
        or len(raw) > 50
        or not all(
            isinstance(k, str) and left.match(k) and isinstance(v, str) and right.match(v) for k, v in raw.items()
        )
    ):
        raise _bad(element, f"{key}: an object of names", key)
    return dict(raw)


def _element(raw: Any, index: int) -> Element:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not ELEMENT_ID.match(raw["id"]):
        raise BadDefinition(f"elements[{index}]: an object with an id (a letter, then letters, digits, _ or -)",
                            field=f"elements[{index}].id")  # fmt: skip
    eid, kind = raw["id"], raw.get("type")
    if kind not in ELEMENT_TYPES:
        raise _bad(eid, f"type {kind!r} is not one of {', '.join(ELEMENT_TYPES)}", "type")
    unknown = sorted(set(raw) - _KEYS[kind] - {"id", "type"})
    if unknown:
        raise _bad(eid, f"{unknown[0]} is not a key of a {kind}", unknown[0])
    title = raw.get("title", eid)
    if not isinstance(title, str) or len(title) > 200:
        raise _bad(eid, "title: text of at most 200 characters", "title")
    if kind == "start":
        return Element(eid, kind, next=_ref(eid, raw, "next"))
    if kind == "user_task":
        return Element(eid, kind, next=_ref(eid, raw, "next"), title=title, form=parse_form(eid, raw.get("form")))
    if kind == "service_task":
        resolve = _names(eid, raw.get("resolve"), "resolve", NAME, RESOURCE_FIELD)
        if not resolve:
            raise _bad(eid, "resolve: at least one {data name: resource field}", "resolve")
        inputs = _names(eid, raw.get("inputs"), "inputs", RESOURCE_FIELD, NAME)
        return Element(eid, kind, next=_ref(eid, raw, "next"), title=title, resolve=resolve, inputs=inputs,
                       on_error=_ref(eid, raw, "on_error", required=False))  # fmt: skip
    if kind == "gateway":
        return _gateway(eid, raw)
    if kind == "timer":
        after = raw.get("after_s")
        if isinstance(after, bool) or not isinstance(after, int | float) or not 0 < after <= MAX_TIMER_S:
            raise _bad(eid, f"after_s: seconds, above 0 and at most {MAX_TIMER_S}", "after_s")
        return Element(eid, kind, next=_ref(eid, raw, "next"), after_s=float(after))
    outcome = raw.get("outcome", "completed")
    if not isinstance(outcome, str) or not NAME.match(outcome):
        raise _bad(eid, "outcome: a name (lower-case letters, digits, _)", "outcome")
    return Element(eid, kind, outcome=outcome)


def _gateway(eid: str, raw: Mapping[str, Any]) -> Element:
    if raw.get("default") is None:
        raise NoDefaultPath(f"{eid}: an exclusive gateway needs a default path (taken when no condition holds)",
                            element=eid, field="default")  # fmt: skip
    default = _ref(eid, raw, "default")
    items = raw.get("branches")
    if not isinstance(items, list) or not items:
        raise _bad(eid, "branches: a non-empty list of {when, to}", "branches")
    branches = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"when", "to"}:
            raise _bad(eid, f"branches[{i}]: an object with when and to", f"branches[{i}]")
        try:
            when = compile_expression(item["when"])
        except ExpressionError as exc:
            where = f"branches[{i}].when"
            raise BadCondition(f"{eid}: {where}: {exc.message}", element=eid, field=where) from None
        branches.append(Branch(when, str(_ref(eid, item, "to"))))
    return Element(eid, "gateway", branches=tuple(branches), default=default)


def parse_definition(raw: Mapping[str, Any]) -> Definition:
    """The definition, validated whole; the first problem found is raised, naming its element."""
    unknown = sorted(set(raw) - {"key", "title", "elements"})
    if unknown:
        raise BadDefinition(f"{unknown[0]} is not a key of a definition", field=unknown[0])
    key = raw.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise BadDefinition("key: lower-case letters, digits, _ and - (64 at most)", field="key")
    title = raw.get("title", key)
    if not isinstance(title, str) or len(title) > 200:
        raise BadDefinition("title: text of at most 200 characters", field="title")
    items = raw.get("elements")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ELEMENTS:
        raise BadDefinition(f"elements: a list of 1 to {MAX_ELEMENTS} elements", field="elements")
    elements: dict[str, Element] = {}
    for i, item in enumerate(items):
        element = _element(item, i)
        if element.id in elements:
            raise _bad(element.id, "the id is used twice", "id")
        elements[element.id] = element
    starts = [e.id for e in elements.values() if e.type == "start"]
    if len(starts) != 1:
        raise BadDefinition(f"a definition has exactly one start event (found {len(starts)})", field="elements")
    if not any(e.type == "end" for e in elements.values()):
        raise BadDefinition("a definition has at least one end event", field="elements")
    for element in elements.values():
        for target in element.targets():
            if target not in elements:
                raise UnknownElement(f"{element.id}: leads to {target}, which is not an element", element=element.id,
                                     field=target)  # fmt: skip
            if elements[target].type == "start":
                raise _bad(element.id, "nothing leads back to the start event", "next")
    seen, todo = {starts[0]}, [starts[0]]
    while todo:
        for target in elements[todo.pop()].targets():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    for element_id in elements:
        if element_id not in seen:
            raise Unreachable(f"{element_id}: no path from the start event reaches it", element=element_id)
    return Definition(key, title, starts[0], elements, json.loads(json.dumps(dict(raw))))
