"""Resource definitions: YAML documents validated into a :class:`Catalog`.

One document (``definitions/*.yaml``)::

    catalog: bank                 # a name; with ``version`` (an integer, raised on every change)
    version: 1
    resources:
      - name: bank_customer
        url: "{backoffice}/bank/customers/{customer_number}"   # {input} or {base} placeholders
        method: GET               # GET or POST; POST sends ``body`` (key -> input field)
        inputs: [customer_number]
        outputs:                  # field -> where in the JSON answer (dotted path), and its type
          checking_balance: {path: checking.balance, type: number}
        timeout_s: 0.5
        retries: 1
        cache_ttl_s: 10           # 0: never cached (POSTs never are)
        roles: [agent, team_leader, manager, admin]
        flows: ["*"]              # IVR flows that may use it ("*": any; [] none)
    derived:
      - name: available_credit
        expr: "card_limit - card_balance"                      # :mod:`central.resources.expr`

A document that does not validate is refused with :class:`InvalidDefinition` naming the file and
the field (``resources[0].outputs.checking_balance.type``); a field defined twice, a placeholder
that is neither an input nor a base URL, and a dependency cycle are refused too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from central.resources.errors import ExpressionError, InvalidDefinition
from central.resources.expr import Expression, compile_expression
from cluster.roles import ROLES

DEFINITIONS_DIR = Path(__file__).parent / "definitions"
_NAME = r"^[a-z][a-z0-9_]{0,63}$"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutputSpec(_Strict):
    path: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
    type: Literal["number", "string", "boolean", "list", "object", "any"] = "any"
    optional: bool = False  # a missing value is null rather than malformed


class ResourceSpec(_Strict):
    name: str = Field(pattern=_NAME)
    url: str = Field(min_length=1, max_length=500)
    method: Literal["GET", "POST"] = "GET"
    inputs: tuple[str, ...] = ()
    body: dict[str, str] = Field(default_factory=dict)  # POST body key -> input field
    outputs: dict[str, OutputSpec] = Field(min_length=1)
    timeout_s: float = Field(default=1.0, gt=0, le=30)
    retries: int = Field(default=0, ge=0, le=5)
    cache_ttl_s: float = Field(default=0.0, ge=0, le=86_400)
    roles: tuple[str, ...] = ROLES
    flows: tuple[str, ...] = ("*",)


class DerivedSpec(_Strict):
    name: str = Field(pattern=_NAME)
    expr: str


class DocumentSpec(_Strict):
    catalog: str = Field(pattern=_NAME)
    version: int = Field(ge=1)
    description: str = ""
    resources: tuple[ResourceSpec, ...] = ()
    derived: tuple[DerivedSpec, ...] = ()


@dataclass(frozen=True)
class Resource:
    spec: ResourceSpec
    catalog: str
    version: int

    @property
    def name(self) -> str:
        return self.spec.name

    def may_use(self, role: str | None, flow: str | None) -> bool:
        """Roles gate people; ``flow`` (an IVR flow's id) gates self-service callers."""
        if flow is not None:
            return "*" in self.spec.flows or flow in self.spec.flows
        return role in self.spec.roles


@dataclass(frozen=True)
class Derived:
    name: str
    expression: Expression
    catalog: str


@dataclass(frozen=True)
class Catalog:
    """Every field and who produces it: a resource's output or a derived expression."""

    resources: Mapping[str, Resource] = field(default_factory=dict)
    derived: Mapping[str, Derived] = field(default_factory=dict)
    producer: Mapping[str, str] = field(default_factory=dict)  # output field -> resource name
    versions: Mapping[str, int] = field(default_factory=dict)  # catalog -> version

    def needs(self, name: str) -> tuple[str, ...]:
        """The fields ``name`` is computed from (a resource's inputs, an expression's names)."""
        if name in self.derived:
            return tuple(sorted(self.derived[name].expression.names))
        return self.resources[self.producer[name]].spec.inputs


def _where(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    loc = ""
    for part in first["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    return loc or "(document)", first["msg"]


def parse_document(text: str, source: str) -> DocumentSpec:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidDefinition(f"{source}: not valid YAML: {exc}", source=source) from exc
    if not isinstance(raw, dict):
        raise InvalidDefinition(f"{source}: a resource document is a mapping", source=source, field="(document)")
    try:
        return DocumentSpec.model_validate(raw)
    except ValidationError as exc:
        where, why = _where(exc)
        raise InvalidDefinition(f"{source}: {where}: {why}", source=source, field=where) from exc


def build_catalog(documents: Iterable[tuple[DocumentSpec, str]], bases: Mapping[str, str]) -> Catalog:
    """Documents (with where each came from) -> one checked catalog; the newest version of a
    catalog name wins (versioned like flows: a document replaces an older one of its name)."""
    newest: dict[str, tuple[DocumentSpec, str]] = {}
    for doc, source in documents:
        known = newest.get(doc.catalog)
        if known is not None and known[0].version == doc.version:
            raise InvalidDefinition(f"{source}: catalog {doc.catalog} version {doc.version} is defined twice "
                                    f"(also in {known[1]})", source=source, field="version")  # fmt: skip
        if known is None or doc.version > known[0].version:
            newest[doc.catalog] = (doc, source)
    resources: dict[str, Resource] = {}
    derived: dict[str, Derived] = {}
    producer: dict[str, str] = {}
    owner: dict[str, str] = {}  # field -> source, for "defined twice"

    def claim(name: str, source: str, where: str) -> None:
        if name in owner:
            raise InvalidDefinition(f"{source}: {where}: field {name} is already defined in {owner[name]}",
                                    source=source, field=where, error_id="resources.duplicate_field")  # fmt: skip
        owner[name] = source

    for doc, source in newest.values():
        for i, spec in enumerate(doc.resources):
            where = f"resources[{i}]"
            if spec.name in resources:
                raise InvalidDefinition(f"{source}: {where}.name: resource {spec.name} is defined twice",
                                        source=source, field=f"{where}.name")  # fmt: skip
            _check_resource(spec, source, where, bases)
            resources[spec.name] = Resource(spec, doc.catalog, doc.version)
            for name in spec.outputs:
                claim(name, source, f"{where}.outputs.{name}")
                producer[name] = spec.name
        for i, d in enumerate(doc.derived):
            where = f"derived[{i}]"
            try:
                expression = compile_expression(d.expr)
            except ExpressionError as exc:
                raise InvalidDefinition(f"{source}: {where}.expr: {exc.message}", source=source,
                                        field=f"{where}.expr") from exc  # fmt: skip
            claim(d.name, source, f"{where}.name")
            derived[d.name] = Derived(d.name, expression, doc.catalog)
    catalog = Catalog(resources, derived, producer, {d.catalog: d.version for d, _ in newest.values()})
    from central.resources.planner import find_cycle

    cycle = find_cycle(catalog)
    if cycle:
        raise InvalidDefinition(f"a dependency cycle: {' -> '.join(cycle)}", error_id="resources.cycle",
                                field=cycle[0], cycle=cycle)  # fmt: skip
    return catalog


def _check_resource(spec: ResourceSpec, source: str, where: str, bases: Mapping[str, str]) -> None:
    for role in spec.roles:
        if role not in ROLES:
            raise InvalidDefinition(f"{source}: {where}.roles: unknown role {role!r} (known: {', '.join(ROLES)})",
                                    source=source, field=f"{where}.roles")  # fmt: skip
    for name in _PLACEHOLDER.findall(spec.url):
        if name not in spec.inputs and name not in bases:
            raise InvalidDefinition(f"{source}: {where}.url: {{{name}}} is neither an input nor a base URL "
                                    f"({', '.join(sorted(bases)) or 'none configured'})", source=source,
                                    field=f"{where}.url")  # fmt: skip
    for key, name in spec.body.items():
        if name not in spec.inputs:
            raise InvalidDefinition(f"{source}: {where}.body.{key}: {name} is not an input of {spec.name}",
                                    source=source, field=f"{where}.body.{key}")  # fmt: skip
    for name in spec.inputs:
        if name in spec.outputs:
            raise InvalidDefinition(f"{source}: {where}.outputs.{name}: a resource cannot produce its own input",
                                    source=source, field=f"{where}.outputs.{name}")  # fmt: skip


def load_catalog(paths: Iterable[Path], bases: Mapping[str, str]) -> Catalog:
    """Every ``*.yaml`` under the given files or folders (the shipped demo definitions by default)."""
    documents: list[tuple[DocumentSpec, str]] = []
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            try:
                text = file.read_text()
            except OSError as exc:
                raise InvalidDefinition(f"{file}: cannot read: {exc}", source=str(file)) from exc
            documents.append((parse_document(text, file.name), file.name))
    return build_catalog(documents, bases)


def document_from(data: Any, source: str = "(inline)") -> DocumentSpec:
    """A document given as data (tests, an API body) rather than YAML text."""
    return parse_document(yaml.safe_dump(data), source)
