"""Agents' time by state from the sites' ``agent_sessions`` (written by
:mod:`site_node.agents.sessions`): logged-in time, not-ready time per reason code, and the
occupancy they give (``busy / (logged in - not ready)``, busy being ringing, talking, holding
and after-call work).

Sessions are clipped to the report's period. A site whose database predates the table (site
migration 0008) contributes nothing here; its agents keep the CDR approximation of
:mod:`central.stats.rollup`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Column, Connection, Double, MetaData, String, Table, inspect, select

from central.stats import db

BUSY_STATES = ("reserved", "on_call", "on_hold", "after_call_work")
TIME_COLUMNS = ["site", "agent_id", "state", "reason", "seconds"]
NOT_READY_COLUMNS = ["site", "agent_id", "reason", "not_ready_s"]
NO_REASON = "(none)"

sessions_table = Table(
    "agent_sessions",
    MetaData(),
    Column("site", String(64)),
    Column("agent_id", String(40)),
    Column("state", String(20)),
    Column("reason", String(40)),
    Column("started_at", Double),
    Column("ended_at", Double),
)


def read_agent_time(urls: Mapping[str, str], start_s: float, end_s: float) -> pd.DataFrame:
    """Seconds per site, agent, state and reason within ``[start_s, end_s)``."""
    c = sessions_table.c
    stmt = (  # clipped to the period below
        select(c.agent_id, c.state, c.reason, c.started_at, c.ended_at)
        .where(c.ended_at > start_s, c.started_at < end_s)
        .order_by(c.agent_id)
    )

    def work(conn: Connection) -> list[Sequence[Any]]:
        if not inspect(conn).has_table("agent_sessions"):
            return []
        return [tuple(row) for row in conn.execute(stmt)]

    rows = [(site, *row) for site, url in sorted(urls.items()) for row in db.run_on(url, work)]
    raw = pd.DataFrame.from_records(rows, columns=["site", "agent_id", "state", "reason", "start", "end"])
    if raw.empty:
        return pd.DataFrame(columns=TIME_COLUMNS)
    start = raw["start"].astype("float64").clip(lower=start_s)
    end = raw["end"].astype("float64").clip(upper=end_s)
    raw["seconds"] = (end - start).clip(lower=0.0)
    raw["reason"] = raw["reason"].fillna(NO_REASON)
    out = raw.groupby(["site", "agent_id", "state", "reason"], sort=True, as_index=False)["seconds"].sum()
    return out[TIME_COLUMNS]


def not_ready_table(time: pd.DataFrame) -> pd.DataFrame:
    """Long format: one row per site, agent and not-ready reason code."""
    nr = time[time["state"] == "not_ready"]
    out = nr.rename(columns={"seconds": "not_ready_s"})[NOT_READY_COLUMNS]
    return out.sort_values(["site", "agent_id", "reason"]).reset_index(drop=True)


def per_agent(time: pd.DataFrame) -> pd.DataFrame:
    """``site, agent_id, logged_in_s, not_ready_s, busy_s, occupancy`` per agent."""
    cols = ["site", "agent_id", "logged_in_s", "not_ready_s", "busy_s", "session_occupancy"]
    if time.empty:
        return pd.DataFrame(columns=cols)
    t = time.assign(
        not_ready_s=np.where(time["state"] == "not_ready", time["seconds"], 0.0),
        busy_s=np.where(time["state"].isin(BUSY_STATES), time["seconds"], 0.0),
    )
    out = t.groupby(["site", "agent_id"], sort=True, as_index=False).agg(
        logged_in_s=("seconds", "sum"), not_ready_s=("not_ready_s", "sum"), busy_s=("busy_s", "sum")
    )
    available = out["logged_in_s"] - out["not_ready_s"]
    out["session_occupancy"] = (out["busy_s"] / available.where(available > 0)).astype("float64")
    return out[cols]
