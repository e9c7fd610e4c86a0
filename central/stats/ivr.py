"""The IVR report from the sites' CDRs: per site and flow, calls that entered the IVR, went on
to a queue, and ended in the IVR without reaching one (self-service completion / containment).

Per-node exits are not in the CDR: they are counted live (``cc_ivr_node_exits_total``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, case, func, select

from central.stats import db

IVR_COLUMNS = ["site", "flow_id", "entered", "to_queue", "self_served", "self_service_rate", "avg_ivr_s"]


def ivr_report(urls: Mapping[str, str], start_s: float, end_s: float) -> pd.DataFrame:
    """One row per site and flow over calls arriving in ``[start_s, end_s)``."""
    c = db.calls_table.c
    reached_queue = c.queued_at.isnot(None) | c.offered_at.isnot(None) | c.answered_at.isnot(None)
    stmt = (
        select(
            c.flow_id,
            func.count(),
            func.sum(case((reached_queue, 1), else_=0)),
            func.sum(case((reached_queue, 0), else_=1)),
            func.avg(c.ivr_end_at - c.ivr_start_at),
        )
        .where(c.ivr_start_at.isnot(None), c.arrival_at >= start_s, c.arrival_at < end_s)
        .group_by(c.flow_id)
        .order_by(c.flow_id)
    )

    def work(conn: Connection) -> list[Sequence[Any]]:
        return [tuple(row) for row in conn.execute(stmt)]

    rows = [(site, *row) for site, url in sorted(urls.items()) for row in db.run_on(url, work)]
    out = pd.DataFrame.from_records(
        rows, columns=["site", "flow_id", "entered", "to_queue", "self_served", "avg_ivr_s"]
    )
    out["self_service_rate"] = out["self_served"] / out["entered"].where(out["entered"] > 0)
    return out[IVR_COLUMNS]
