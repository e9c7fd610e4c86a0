"""The call detail record's columns (a site's ``calls`` table), named once for the statistics.

A site writes its CDR (``site_node.call.records.to_cdr``) into ``calls``, whose schema belongs
to the site's storage (``site_node.storage``: its models and migrations). The statistics only
read that table, in Ray workers and in the ``callcenter stats`` command, so they name its
columns here, in the storage's order, with the kind of value each holds, instead of importing
the site node (and its ORM, migrations and runtime) at import time. A test
(``tests/stats/test_columns.py``) holds this list to the storage schema, so the two cannot drift.

Everything else in ``central.stats`` (the Core table in :mod:`central.stats.db`, the columns
the KPIs read, the synthetic CDR) and the tests take their column names from here.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["text", "int", "time", "seconds", "bool"]

CDR_COLUMNS: dict[str, Kind] = {
    "call_id": "text",  # the primary key
    "site": "text",
    "queue": "text",
    "skill": "text",
    "priority": "int",
    "caller_number": "text",
    "dialled_number": "text",
    "customer_id": "text",
    "agent_id": "text",
    "flow_id": "text",
    "flow_version": "int",
    "original_arrival_at": "time",
    "arrival_at": "time",
    "ivr_start_at": "time",
    "ivr_end_at": "time",
    "queued_at": "time",
    "offered_at": "time",
    "answered_at": "time",
    "ended_at": "time",
    "wrap_up_end_at": "time",
    "hold_total_s": "seconds",
    "transfers": "int",
    "failovers": "int",
    "callback_requested": "bool",
    "end_reason": "text",
    "resumed_from": "text",
}
TIME_COLUMNS: tuple[str, ...] = tuple(name for name, kind in CDR_COLUMNS.items() if kind == "time")
TEXT_COLUMNS: tuple[str, ...] = tuple(name for name, kind in CDR_COLUMNS.items() if kind == "text")

# The columns the KPIs need (:mod:`central.stats.kpi`); the others are never read.
READ_COLUMNS: tuple[str, ...] = (
    "call_id",
    "queue",
    "agent_id",
    "arrival_at",
    "queued_at",
    "offered_at",
    "answered_at",
    "ended_at",
    "wrap_up_end_at",
    "hold_total_s",
    "transfers",
    "failovers",
    "callback_requested",
    "end_reason",
)
