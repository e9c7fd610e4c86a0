"""The planner: a request for fields -> an execution plan. Pure (no I/O, no clock).

1. Closure: every requested field, and what it is computed from, down to the inputs the
   request provides (a provided value is used as given, never recomputed).
2. Grouping: every field served by one resource comes from one call of it.
3. Levels: a step runs at 1 + the highest level of the steps it needs (provided inputs: none),
   so the steps of one level are independent and run in parallel; the plan takes as long as
   its critical path, not the sum of its calls.

Refused: an unknown field (:class:`UnknownField`), a field whose inputs nobody provides
(:class:`MissingInput`, naming the input and the field that needs it), a cycle
(:class:`DependencyCycle`, naming its fields in order), and a resource the role or flow may not
use (:class:`NotAllowed`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from central.resources.errors import DependencyCycle, MissingInput, NotAllowed, UnknownField
from central.resources.model import Catalog

MAX_FIELDS = 200


@dataclass(frozen=True)
class Step:
    kind: Literal["call", "derive"]
    name: str  # the resource, or the derived field
    fields: tuple[str, ...]  # the fields this step produces (a call: those of its outputs needed)
    needs: tuple[str, ...]  # the fields it reads
    level: int


@dataclass(frozen=True)
class Plan:
    requested: tuple[str, ...]
    levels: tuple[tuple[Step, ...], ...]
    inputs: tuple[str, ...]  # the provided inputs the plan reads

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(step for level in self.levels for step in level)

    @property
    def calls(self) -> int:
        return sum(1 for step in self.steps if step.kind == "call")

    def describe(self) -> list[list[dict[str, object]]]:
        return [[{"kind": s.kind, "name": s.name, "fields": list(s.fields)} for s in level] for level in self.levels]


def _known(catalog: Catalog, name: str) -> bool:
    return name in catalog.producer or name in catalog.derived


def find_cycle(catalog: Catalog) -> list[str]:
    """A dependency cycle among the catalog's fields (``[a, b, a]``), or ``[]``."""
    for start in sorted([*catalog.producer, *catalog.derived]):
        cycle = _cycle_from(catalog, start, frozenset())
        if cycle:
            return cycle
    return []


def _cycle_from(catalog: Catalog, start: str, provided: Collection[str]) -> list[str]:
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(name: str) -> list[str]:
        if name in provided or not _known(catalog, name) or name in done:
            return []
        if name in on_path:
            return [*path[path.index(name) :], name]
        path.append(name)
        on_path.add(name)
        for dep in catalog.needs(name):
            found = visit(dep)
            if found:
                return found
        path.pop()
        on_path.discard(name)
        done.add(name)
        return []

    return visit(start)


def plan(
    catalog: Catalog,
    fields: Iterable[str],
    provided: Collection[str],
    *,
    role: str | None = None,
    flow: str | None = None,
) -> Plan:
    requested = tuple(dict.fromkeys(fields))
    if not requested:
        raise UnknownField("ask for at least one field", field="fields")
    if len(requested) > MAX_FIELDS:
        raise UnknownField(f"at most {MAX_FIELDS} fields in one request", field="fields")
    for name in requested:
        if name not in provided and not _known(catalog, name):
            raise UnknownField(f"no resource or derived field is called {name!r}", field=name)
    level: dict[str, int] = {}  # field -> level of the step producing it (-1: provided)
    used_inputs: set[str] = set()
    on_path: list[str] = []

    def visit(name: str, needed_by: str | None) -> int:
        if name in provided:
            used_inputs.add(name)
            return -1
        if name in level:
            return level[name]
        if name in on_path:
            cycle = [*on_path[on_path.index(name) :], name]
            raise DependencyCycle(f"a dependency cycle: {' -> '.join(cycle)}", field=name, cycle=cycle)
        if not _known(catalog, name):
            raise MissingInput(f"{needed_by} needs {name!r}: provide it as an input", field=needed_by, input=name)
        if name in catalog.producer:
            resource = catalog.resources[catalog.producer[name]]
            if not resource.may_use(role, flow):
                who = f"flow {flow!r}" if flow is not None else f"role {role or 'none'!r}"
                raise NotAllowed(f"{who} may not use resource {resource.name} (for {name})", field=name,
                                 resource=resource.name)  # fmt: skip
        on_path.append(name)
        deepest = max((visit(dep, name) for dep in catalog.needs(name)), default=-1)
        on_path.pop()
        level[name] = deepest + 1
        return level[name]

    for name in requested:
        visit(name, None)
    calls: dict[str, list[str]] = {}
    derives: list[str] = []
    for name in level:
        if name in catalog.producer:
            calls.setdefault(catalog.producer[name], []).append(name)
        else:
            derives.append(name)
    steps = [Step("call", resource, tuple(sorted(served)), catalog.resources[resource].spec.inputs,
                  level[served[0]]) for resource, served in calls.items()]  # fmt: skip
    steps += [Step("derive", name, (name,), catalog.needs(name), level[name]) for name in derives]
    depth = max((s.level for s in steps), default=-1) + 1
    levels = tuple(tuple(sorted((s for s in steps if s.level == i), key=lambda s: (s.kind, s.name)))
                   for i in range(depth))  # fmt: skip
    return Plan(requested, levels, tuple(sorted(used_inputs)))
