"""Reading flow definitions (YAML or JSON text) and the demo bank flows shipped as data.

Parsing text is pure; :func:`load_demo_registry` reads the packaged files in ``flows/``
(the only file access in this package, done once at start-up by the site runtime).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from cluster.limits import MAX_DEPTH, nesting_depth

from .errors import InvalidFlow
from .flow import Flow, parse_flow
from .registry import FlowRegistry

FLOWS_DIR = Path(__file__).with_name("flows")
ROUTES_FILE = "routes.yaml"


def parse_text(text: str, *, fmt: str = "yaml") -> dict[str, Any]:
    """YAML (default) or JSON text -> the raw mapping (not validated yet)."""
    try:
        raw = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidFlow("?", None, f"not valid {fmt}: {exc}") from exc
    except RecursionError as exc:
        raise InvalidFlow("?", None, f"nests deeper than {MAX_DEPTH} levels") from exc
    if nesting_depth(raw) > MAX_DEPTH:
        raise InvalidFlow("?", None, f"nests deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, dict):
        raise InvalidFlow("?", None, "a flow document must be a mapping")
    return raw


def flow_from_text(text: str, *, fmt: str = "yaml", version: int = 1) -> Flow:
    return parse_flow(parse_text(text, fmt=fmt), version)


def load_demo_registry(directory: Path = FLOWS_DIR) -> FlowRegistry:
    """Publish every flow file of ``directory`` and bind the numbers of ``routes.yaml``."""
    registry = FlowRegistry()
    for path in sorted(directory.iterdir()):
        if path.name == ROUTES_FILE or path.suffix not in (".yaml", ".yml", ".json"):
            continue
        registry.publish(parse_text(path.read_text("utf-8"),
                                    fmt="json" if path.suffix == ".json" else "yaml"))
    routes_path = directory / ROUTES_FILE
    if routes_path.exists():
        routes = yaml.safe_load(routes_path.read_text("utf-8")) or {}
        for route in routes.get("routes", []):
            registry.bind(str(route["dialled_number"]), str(route["flow"]),
                          segment=route.get("segment"))
    return registry
