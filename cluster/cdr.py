"""The call detail record (CDR): its columns and the kind of value each holds, named once.

A site writes one row per call into its ``calls`` table (``site_node.call.to_cdr``, stored by
``site_node.storage``); central's statistics read those tables. Both take the column list
from here: the writer, the storage schema (held to this list by ``tests/stats/test_columns.py``)
and the readers.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["text", "int", "time", "seconds", "bool"]

CDR_COLUMNS: dict[str, Kind] = {  # in the storage's order
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
    "first_site": "text",  # the site the call first arrived at (a failed-over call ends elsewhere)
    "failover_gap_s": "seconds",  # a talking call's time between the move and the resume
    "ivr_path": "text",  # JSON: the IVR nodes the call left, in order, and how the flow ended
}
