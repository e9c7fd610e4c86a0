"""The IVR report from the sites' CDRs.

``ivr``: per site and flow, calls that entered the IVR, went on to a queue, and were served in
the IVR (self-service completion). A call with a stored IVR path (``calls.ivr_path``,
:mod:`cluster.ivr_path`) is self-served only if the flow ended it at an end node (``"end":
"hangup"``); a caller who hung up mid-menu is not. Calls stored before the path existed (site
migration 0008) count as before: ended in the IVR without reaching a queue.

``ivr_nodes``: per site, flow and node, how many times calls left the node (``exits``, the
figure ``cc_ivr_node_exits_total`` counts live) and how many calls left the IVR there
(``ended_here``: the last node of their path).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, inspect, literal, select

from central.stats import db
from cluster import ivr_path

IVR_COLUMNS = ["site", "flow_id", "entered", "to_queue", "self_served", "self_service_rate", "avg_ivr_s"]
NODE_COLUMNS = ["site", "flow_id", "node_id", "exits", "ended_here"]


def _read(url: str, start_s: float, end_s: float) -> list[Sequence[Any]]:
    c = db.calls_table.c
    reached_queue = c.queued_at.isnot(None) | c.offered_at.isnot(None) | c.answered_at.isnot(None)

    def work(conn: Connection) -> list[Sequence[Any]]:
        has_path = "ivr_path" in {col["name"] for col in inspect(conn).get_columns("calls")}
        path = c.ivr_path if has_path else literal(None).label("ivr_path")
        stmt = select(c.flow_id, reached_queue, c.ivr_end_at - c.ivr_start_at, path).where(
            c.ivr_start_at.isnot(None), c.arrival_at >= start_s, c.arrival_at < end_s
        )
        return [tuple(row) for row in conn.execute(stmt)]

    return db.run_on(url, work)


def ivr_report(urls: Mapping[str, str], start_s: float, end_s: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(ivr, ivr_nodes)`` over calls arriving in ``[start_s, end_s)``."""
    calls: list[tuple[str, str | None, bool, float | None, bool]] = []
    exits: Counter[tuple[str, str, str]] = Counter()
    ended: Counter[tuple[str, str, str]] = Counter()
    for site, url in sorted(urls.items()):
        for flow_id, reached, ivr_s, path in _read(url, start_s, end_s):
            steps, end = ivr_path.parse(path)
            served = not reached and (end == "hangup" if path else True)
            calls.append((site, flow_id, bool(reached), ivr_s, served))
            for flow, node in steps:
                exits[(site, flow, node)] += 1
            if steps:
                ended[(site, *steps[-1])] += 1
    df = pd.DataFrame.from_records(calls, columns=["site", "flow_id", "reached", "ivr_s", "served"])
    if df.empty:
        ivr = pd.DataFrame(columns=IVR_COLUMNS)
    else:
        ivr = df.groupby(["site", "flow_id"], sort=True, as_index=False, dropna=False).agg(
            entered=("reached", "size"),
            to_queue=("reached", "sum"),
            self_served=("served", "sum"),
            avg_ivr_s=("ivr_s", "mean"),
        )
        ivr["self_service_rate"] = ivr["self_served"] / ivr["entered"].where(ivr["entered"] > 0)
        ivr = ivr[IVR_COLUMNS]
    nodes = pd.DataFrame.from_records(
        [(*key, n, ended.get(key, 0)) for key, n in sorted(exits.items())], columns=NODE_COLUMNS
    )
    return ivr, nodes
