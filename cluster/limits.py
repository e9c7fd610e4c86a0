"""Limits on what a client may send, shared by every edge that parses input."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32


def nesting_depth(value: Any) -> int:
    """How deeply containers nest in a parsed document (iterative: no recursion to exhaust)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
