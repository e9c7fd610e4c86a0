"""The published JSON Schemas of the event stream (``docs/events.md``): the envelope and the
``data`` of each family, version 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
FAMILIES = ("call", "agent", "queue", "site", "workorder")


def load(name: str, version: int = 1) -> dict[str, Any]:
    """``envelope`` or a family's data schema."""
    document: dict[str, Any] = json.loads((_HERE / f"{name}.v{version}.json").read_text())
    return document


def data_schema_of(event_type: str, version: int = 1) -> dict[str, Any]:
    return load(event_type.split(".", 1)[0], version)
