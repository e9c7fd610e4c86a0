"""The planner, the expression language and the definitions' validation: pure, table-tested."""

from __future__ import annotations

from typing import Any

import pytest

from central.resources.errors import (
    DependencyCycle,
    ExpressionError,
    InvalidDefinition,
    MissingInput,
    NotAllowed,
    UnknownField,
)
from central.resources.expr import compile_expression
from central.resources.model import DEFINITIONS_DIR, Catalog, Derived, build_catalog, document_from, load_catalog
from central.resources.planner import plan

BASES = {"api": "http://backoffice"}


def res(name: str, inputs: list[str], outputs: list[str], **extra: Any) -> dict[str, Any]:
    url = "{api}/" + name + "".join(f"/{{{i}}}" for i in inputs)
    return {"name": name, "url": url, "inputs": inputs, "outputs": {o: {"path": o} for o in outputs}, **extra}


DOC: dict[str, Any] = {
    "catalog": "t",
    "version": 1,
    "resources": [
        res("customer", ["customer_number"], ["account_id", "branch", "name"]),
        res("balance", ["account_id"], ["balance", "limit"]),
        res("history", ["account_id"], ["transactions"]),
        res("slots", ["branch"], ["next_slot"]),
        res("bill", ["customer_number"], ["arrears"], roles=["manager"], flows=["gas"]),
    ],
    "derived": [
        {"name": "available", "expr": "limit - balance"},
        {"name": "in_arrears", "expr": "arrears > 0"},
        {"name": "headroom", "expr": "available * 2"},
    ],
}
CATALOG = build_catalog([(document_from(DOC), "t.yaml")], BASES)


def shape(p: Any) -> list[list[tuple[str, str, tuple[str, ...]]]]:
    return [[(s.kind, s.name, s.fields) for s in level] for level in p.levels]


@pytest.mark.parametrize(
    ("fields", "provided", "levels"),
    [
        # one field: one call at level 0
        (["name"], {"customer_number"}, [[("call", "customer", ("name",))]]),
        # fields of one resource: one call (grouping)
        (["name", "branch"], {"customer_number"}, [[("call", "customer", ("branch", "name"))]]),
        # a chain: customer -> balance -> derived
        (["available"], {"customer_number"},
         [[("call", "customer", ("account_id",))], [("call", "balance", ("balance", "limit"))],
          [("derive", "available", ("available",))]]),
        # independent groups share a level (they run in parallel); depth 3
        (["headroom", "transactions", "next_slot"], {"customer_number"},
         [[("call", "customer", ("account_id", "branch"))],
          [("call", "balance", ("balance", "limit")), ("call", "history", ("transactions",)),
           ("call", "slots", ("next_slot",))],
          [("derive", "available", ("available",))], [("derive", "headroom", ("headroom",))]]),
        # a provided value is used as given, never recomputed
        (["balance"], {"account_id"}, [[("call", "balance", ("balance",))]]),
        (["account_id"], {"account_id"}, []),
        # duplicates in the request count once
        (["name", "name"], {"customer_number"}, [[("call", "customer", ("name",))]]),
    ],
)  # fmt: skip
def test_plans(fields: list[str], provided: set[str], levels: list[Any]) -> None:
    got = plan(CATALOG, fields, provided, role="agent")
    assert shape(got) == levels
    assert got.requested == tuple(dict.fromkeys(fields))


def test_the_plan_reads_only_the_inputs_it_needs() -> None:
    got = plan(CATALOG, ["available"], {"customer_number", "unused"}, role="agent")
    assert got.inputs == ("customer_number",)
    assert got.calls == 2


@pytest.mark.parametrize(
    ("fields", "provided", "error", "field", "words"),
    [
        (["nope"], {"customer_number"}, UnknownField, "nope", "nope"),
        ([], {"customer_number"}, UnknownField, "fields", "at least one"),
        (["name"], set(), MissingInput, "name", "customer_number"),
        (["available"], set(), MissingInput, "account_id", "customer_number"),
        (["slots_only_branch"], set(), UnknownField, "slots_only_branch", "slots_only_branch"),
    ],
)  # fmt: skip
def test_refused_requests_name_the_field(fields: list[str], provided: set[str], error: type[Exception],
                                         field: str, words: str) -> None:  # fmt: skip
    with pytest.raises(error) as caught:
        plan(CATALOG, fields, provided, role="agent")
    assert caught.value.details["field"] == field  # type: ignore[attr-defined]
    assert words in str(caught.value)


def test_a_missing_input_names_the_input_and_who_needs_it() -> None:
    with pytest.raises(MissingInput) as caught:
        plan(CATALOG, ["next_slot"], set(), role="agent")
    assert caught.value.error_id == "resources.missing_input"
    assert caught.value.details == {"field": "branch", "input": "customer_number"}


@pytest.mark.parametrize(
    ("role", "flow", "allowed"),
    [("agent", None, False), ("manager", None, True), (None, "gas", True), (None, "bank", False),
     ("manager", "bank", False)],
)  # fmt: skip
def test_roles_and_flows_gate_resources(role: str | None, flow: str | None, allowed: bool) -> None:
    if allowed:
        assert shape(plan(CATALOG, ["in_arrears"], {"customer_number"}, role=role, flow=flow))[0][0][1] == "bill"
        return
    with pytest.raises(NotAllowed) as caught:
        plan(CATALOG, ["in_arrears"], {"customer_number"}, role=role, flow=flow)
    assert caught.value.error_id == "resources.forbidden" and caught.value.details["resource"] == "bill"


def test_a_cycle_in_a_request_is_refused_naming_its_fields() -> None:
    derived = {name: Derived(name, compile_expression(expr), "t")
               for name, expr in {"a": "b + 1", "b": "c + 1", "c": "a + 1", "d": "1"}.items()}  # fmt: skip
    catalog = Catalog(derived=derived)
    with pytest.raises(DependencyCycle) as caught:
        plan(catalog, ["a"], set())
    assert caught.value.details["cycle"] == ["a", "b", "c", "a"]
    assert "a -> b -> c -> a" in str(caught.value)
    assert shape(plan(catalog, ["a"], {"c"})) == [[("derive", "b", ("b",))], [("derive", "a", ("a",))]]
    assert shape(plan(catalog, ["d"], set())) == [[("derive", "d", ("d",))]]


def test_a_catalog_with_a_cycle_is_refused_at_load() -> None:
    doc = {"catalog": "c", "version": 1, "resources": [res("r", ["y"], ["x"])], "derived": [{"name": "y", "expr": "x"}]}
    with pytest.raises(InvalidDefinition) as caught:
        build_catalog([(document_from(doc), "c.yaml")], BASES)
    assert caught.value.error_id == "resources.cycle"
    assert caught.value.details["cycle"] in (["x", "y", "x"], ["y", "x", "y"])


def _with(path: str, value: Any) -> dict[str, Any]:
    import copy

    doc = copy.deepcopy(DOC)
    target: Any = doc
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(parts[-1]) if parts[-1].isdigit() else parts[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "error_id", "field"),
    [
        ("version", 0, "resources.invalid_definition", "version"),
        ("resources.0.method", "DELETE", "resources.invalid_definition", "resources[0].method"),
        ("resources.1.timeout_s", -1, "resources.invalid_definition", "resources[1].timeout_s"),
        ("resources.1.outputs.balance.type", "money", "resources.invalid_definition",
         "resources[1].outputs.balance.type"),
        ("resources.0.surprise", 1, "resources.invalid_definition", "resources[0].surprise"),
        ("resources.0.url", "{api}/c/{who}", "resources.invalid_definition", "resources[0].url"),
        ("resources.0.roles", ["agent", "janitor"], "resources.invalid_definition", "resources[0].roles"),
        ("resources.2.outputs", {"balance": {"path": "b"}}, "resources.duplicate_field",
         "resources[2].outputs.balance"),
        ("derived.0.expr", "__import__('os').system('x')", "resources.invalid_definition", "derived[0].expr"),
        ("derived.0.expr", "limit.real", "resources.invalid_definition", "derived[0].expr"),
        ("derived.0.name", "Bad-Name", "resources.invalid_definition", "derived[0].name"),
    ],
)  # fmt: skip
def test_a_definition_that_does_not_validate_is_refused_naming_the_field(path: str, value: Any, error_id: str,
                                                                         field: str) -> None:  # fmt: skip
    with pytest.raises(InvalidDefinition) as caught:
        build_catalog([(document_from(_with(path, value), "bad.yaml"), "bad.yaml")], BASES)
    assert caught.value.error_id == error_id
    assert caught.value.details["field"] == field
    assert "bad.yaml" in str(caught.value) and field in str(caught.value)


def test_versions_the_newest_document_of_a_catalog_wins() -> None:
    newer = _with("version", 2)
    newer["derived"][0]["expr"] = "limit - balance - 1"
    catalog = build_catalog([(document_from(DOC), "v1.yaml"), (document_from(newer), "v2.yaml")], BASES)
    assert catalog.versions == {"t": 2}
    assert catalog.derived["available"].expression.source == "limit - balance - 1"
    with pytest.raises(InvalidDefinition, match="defined twice"):
        build_catalog([(document_from(DOC), "a.yaml"), (document_from(DOC), "b.yaml")], BASES)


def test_the_shipped_demo_definitions_load() -> None:
    catalog = load_catalog([DEFINITIONS_DIR], {"backoffice": "http://x"})
    assert catalog.versions == {"bank": 1, "gas": 1}
    assert {"available_credit", "is_in_arrears", "total_balance"} <= set(catalog.derived)


@pytest.mark.parametrize(
    ("expr", "values", "result"),
    [
        ("limit - balance", {"limit": 3000, "balance": 1200.5}, 1799.5),
        ("arrears > 0", {"arrears": 0}, False),
        ("0 < x <= 5", {"x": 5}, True),
        ("a if a != None else b", {"a": None, "b": 2}, 2),
        ("not a or b", {"a": True, "b": 0}, 0),
        ("round(x * 1.5, 2)", {"x": 1.111}, 1.67),
        ("len(items) and first(items)", {"items": [7, 8]}, 7),
        ("min(a, b) + max(a, b) + abs(-1)", {"a": 1, "b": 2}, 4),
        ("-x", {"x": 3}, -3),
        ("'eur'", {}, "eur"),
    ],
)  # fmt: skip
def test_expressions(expr: str, values: dict[str, Any], result: Any) -> None:
    compiled = compile_expression(expr)
    assert compiled.names == frozenset(values)
    assert compiled.evaluate(values) == result


@pytest.mark.parametrize(
    "expr",
    ["x ** 99", "x.y", "x[0]", "(lambda: 1)()", "[i for i in x]", "open('f')", "min", "", "a = 1", "'x' * 10"],
)
def test_unsafe_or_unknown_expressions_are_refused(expr: str) -> None:
    if expr == "'x' * 10":  # compiles, but strings do not multiply (memory)
        with pytest.raises(ExpressionError):
            compile_expression(expr).evaluate({})
        return
    with pytest.raises(ExpressionError):
        compile_expression(expr)


def test_evaluation_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("a / b").evaluate({"a": 1, "b": 0})
    assert caught.value.error_id == "resources.derive_failed"
