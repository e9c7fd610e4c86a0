"""The effect and the event of a self-service ``fetch`` node (:mod:`site_node.ivr.selfservice`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """Effect: resolve ``fields`` through central's resource API on behalf of ``flow_id``."""

    node_id: str
    flow_id: str
    fields: tuple[str, ...]
    inputs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Event: the resolved values, or what went wrong (``refusal``: the back office said no)."""

    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    refusal: str | None = None
