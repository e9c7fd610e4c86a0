"""The IVR path of a call, kept in its CDR (``ivr_path``) for the IVR report's node exits.

JSON ``{"exits": [[flow, node], ...], "end": KIND | null}``: the nodes the call left, in
order (the same exits ``cc_ivr_node_exits_total`` counts), and how the flow handed the call
over: ``"hangup"`` (an end node hung up: served in the IVR), ``"queue"``, ``"transfer"``,
``"voicemail"``, ``"abandoned"`` (a flow's hang-up for a caller who gave no input),
``"other"``, or ``null`` while in the IVR and when the caller left mid-menu. At most
:data:`MAX_EXITS` exits are kept (a caller looping in a menu); ``"more"`` counts the rest.
"""

from __future__ import annotations

import json
from typing import Any

MAX_EXITS = 64
END_KINDS = ("hangup", "queue", "transfer", "voicemail", "abandoned", "other")


def _load(path: str | None) -> dict[str, Any]:
    return json.loads(path) if path else {"exits": [], "end": None}


def with_exit(path: str | None, flow_id: str, node_id: str) -> str:
    """``path`` with one more node exit."""
    data = _load(path)
    if len(data["exits"]) < MAX_EXITS:
        data["exits"].append([flow_id, node_id])
    else:
        data["more"] = int(data.get("more", 0)) + 1
    return json.dumps(data, separators=(",", ":"))


def with_end(path: str | None, kind: str) -> str:
    """``path`` ended by the flow handing the call over (``kind`` in :data:`END_KINDS`)."""
    if kind not in END_KINDS:
        raise ValueError(f"unknown IVR end {kind!r}")
    data = _load(path)
    data["end"] = kind
    return json.dumps(data, separators=(",", ":"))


def parse(path: str | None) -> tuple[list[tuple[str, str]], str | None]:
    """``(exits, end)`` of a stored path; an empty or unreadable one has no exits."""
    try:
        data = _load(path)
        exits = [(str(f), str(n)) for f, n in data.get("exits", [])]
        end = data.get("end")
    except (ValueError, TypeError, AttributeError):
        return [], None
    return exits, end if end in END_KINDS else None
