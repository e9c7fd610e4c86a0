"""Recordings of one call from several sites presented as one (pure).

A call that fails over keeps its call id: the first site holds the part before the move, the
backup site the part after. :func:`whole_calls` groups the rows every site returned by call id,
orders each call's parts by their start, and orders the calls by their first part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def whole_calls(rows: Iterable[Mapping[str, Any]], site_urls: Mapping[str, str]) -> list[dict[str, Any]]:
    parts: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        parts.setdefault(str(row["call_id"]), []).append(row)
    calls = []
    for call_id, group in parts.items():
        group.sort(key=lambda r: (r["started_at"], r["site"], r["id"]))
        last = group[-1]
        calls.append({
            "call_id": call_id,
            "started_at": group[0]["started_at"],
            "ended_at": last["ended_at"],
            "duration_s": sum(float(r["duration_s"] or 0.0) for r in group),
            "sites": [r["site"] for r in group],
            "legal_hold": any(r["legal_hold"] for r in group),
            "cdr": last["cdr"],  # where the call ended (first_site / failovers name the rest)
            "parts": [{"site": r["site"], "id": r["id"], "started_at": r["started_at"], "ended_at": r["ended_at"],
                       "duration_s": r["duration_s"], "channels": r["channels"], "cdr": r["cdr"],
                       "audio": site_urls.get(str(r["site"]), "") + str(r["audio"])} for r in group],
        })  # fmt: skip
    calls.sort(key=lambda c: (c["started_at"], c["call_id"]))
    return calls
