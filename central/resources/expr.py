"""A small safe expression language for derived fields (``limit - balance``,
``arrears > 0``, ``round(amount * 1.2, 2)``, ``a if b else c``).

Parsed with :mod:`ast` and checked against a whitelist: numbers, strings, booleans, ``None``,
field names, arithmetic, comparisons, ``and``/``or``/``not``, conditional expressions and the
functions in :data:`FUNCTIONS`. No attribute access, subscripts, lambdas or comprehensions:
nothing of Python beyond that is reachable. :func:`compile_expression` returns the field names
the expression reads (its dependencies) and an evaluator."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from central.resources.errors import ExpressionError

MAX_LENGTH = 500
FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "abs": abs, "min": min, "max": max, "round": round, "len": len,
    "first": lambda items: items[0] if items else None,
}  # fmt: skip


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, str | list) or isinstance(b, str | list):
        raise TypeError("only numbers multiply")  # "x" * 10**9 would exhaust memory
    return a * b


_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}  # fmt: skip
_COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}  # fmt: skip


@dataclass(frozen=True)
class Expression:
    source: str
    names: frozenset[str]
    tree: ast.expr

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value; an :class:`ExpressionError` (never a Python exception) when it cannot be."""
        try:
            return _eval(self.tree, values)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, IndexError) as exc:
            raise ExpressionError(f"{self.source!r}: {exc}", error_id="resources.derive_failed", status=502) from exc


def compile_expression(source: str) -> Expression:
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_LENGTH:
        raise ExpressionError(f"an expression is a non-empty string of at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"{source!r} is not an expression: {exc.msg}") from exc
    names: set[str] = set()
    _check(tree, names, source)
    return Expression(source, frozenset(names), tree)


def _check(node: ast.AST, names: set[str], source: str) -> None:
    match node:
        case ast.Constant(value=value) if value is None or isinstance(value, bool | int | float | str):
            return
        case ast.Name(id=name, ctx=ast.Load()):
            if name in FUNCTIONS:
                raise ExpressionError(f"{source!r}: {name} is a function; call it")
            names.add(name)
            return
        case ast.BinOp(op=op) if type(op) in _BINARY:
            children: list[ast.AST] = [node.left, node.right]
        case ast.UnaryOp(op=ast.USub() | ast.UAdd() | ast.Not()):
            children = [node.operand]
        case ast.BoolOp():
            children = list(node.values)
        case ast.Compare(ops=ops) if all(type(op) in _COMPARE for op in ops):
            children = [node.left, *node.comparators]
        case ast.IfExp():
            children = [node.test, node.body, node.orelse]
        case ast.Call(func=ast.Name(id=fn), keywords=[]) if fn in FUNCTIONS:
            children = list(node.args)
        case _:
            raise ExpressionError(f"{source!r}: {type(node).__name__} is not allowed in an expression")
    for child in children:
        _check(child, names, source)


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            return values[name]
        case ast.BinOp(op=op):
            return _BINARY[type(op)](_eval(node.left, values), _eval(node.right, values))
        case ast.UnaryOp(op=ast.Not()):
            return not _eval(node.operand, values)
        case ast.UnaryOp(op=ast.USub()):
            return -_eval(node.operand, values)
        case ast.UnaryOp():
            return +_eval(node.operand, values)
        case ast.BoolOp(op=ast.And()):
            result: Any = True
            for part in node.values:
                result = _eval(part, values)
                if not result:
                    return result
            return result
        case ast.BoolOp():
            result = False
            for part in node.values:
                result = _eval(part, values)
                if result:
                    return result
            return result
        case ast.Compare():
            left = _eval(node.left, values)
            for cmp, comparator in zip(node.ops, node.comparators, strict=True):
                right = _eval(comparator, values)
                if not _COMPARE[type(cmp)](left, right):
                    return False
                left = right
            return True
        case ast.IfExp():
            return _eval(node.body if _eval(node.test, values) else node.orelse, values)
        case ast.Call(func=ast.Name(id=fn)):
            return FUNCTIONS[fn](*(_eval(a, values) for a in node.args))
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")  # unreachable: _check refused it
