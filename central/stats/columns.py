"""The call detail record's columns (a site's ``calls`` table), named once for the statistics.

A site writes its CDR (``site_node.call.records.to_cdr``) into ``calls``, whose schema belongs
to the site's storage (``site_node.storage``: its models and migrations). The statistics only
read that table, in Ray workers and in the ``callcenter stats`` command, so they name its
columns through :mod:`cluster.cdr` (the one list, shared with the writer), instead of importing
the site node (and its ORM, migrations and runtime) at import time. A test
(``tests/stats/test_columns.py``) holds this list to the storage schema, so the two cannot drift.

Everything else in ``central.stats`` (the Core table in :mod:`central.stats.db`, the columns
the KPIs read, the synthetic CDR) and the tests take their column names from here.
"""

from __future__ import annotations

from cluster.cdr import CDR_COLUMNS

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
    "failover_gap_s",
)
