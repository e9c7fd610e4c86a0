"""From merged partial aggregates to the KPI table, at four levels.

==============  =============================  ==========================================
level           key                            rows
==============  =============================  ==========================================
``agent_queue``  interval, site, queue, agent   calls of one queue answered by one agent
``agent``        interval, site, agent          one agent, all queues (``queue`` is None)
``queue``        interval, site, queue          all calls of a queue (``agent_id`` None)
``site``         interval, site                 all calls of a site (both None)
==============  =============================  ==========================================

Occupancy approximation. CDRs carry no login or ready-state data, so staffed time is derived
from activity: an agent's handling periods (``answered_at`` to ``wrap_up_end_at``, or
``ended_at`` without wrap-up) closer than ``session_gap_s`` are joined into sessions, and the
agent counts as staffed for the whole session. Busy time is the handling time that falls inside
the interval. ``occupancy = busy / staffed`` of the agents in the row: for a queue row, the
agents who handled that queue's calls in the interval (their busy time on every queue, so an
agent shared by two queues counts in both); for a site row, all its agents. Idle time before an
agent's first call and after the last one is not seen, so occupancy is over-estimated when
agents wait long for their first call; ``agents_staffed = staffed / interval`` is the average
number of such agents, used by staffing as "agents actually staffed".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from central.stats.kpi import NO_AGENT, SUM_COLUMNS, Partial, _expand_over_intervals
from central.stats.params import KpiParams

LEVELS = ("agent_queue", "agent", "queue", "site")
TIME_COLUMNS = ["busy_ms", "agents_busy_ms", "staffed_ms"]
KPI_COLUMNS = [
    "service_level",
    "sl_ignore",
    "sl_negative",
    "sl_positive",
    "asa_s",
    "aht_s",
    "abandon_rate",
    "avg_abandon_wait_s",
    "occupancy",
    "agents_staffed",
]
OUTPUT_COLUMNS = [
    "level",
    "interval_start",
    "site",
    "queue",
    "agent_id",
    *SUM_COLUMNS,
    *TIME_COLUMNS,
    *KPI_COLUMNS,
]
IV, SITE, QUEUE, AGENT = "interval_start", "site", "queue", "agent_id"


def staffed_frame(sessions: pd.DataFrame, interval_s: int) -> pd.DataFrame:
    """Staffed milliseconds per (interval, site, agent) from activity sessions."""
    if sessions.empty:
        return pd.DataFrame(
            {
                IV: pd.Series(dtype=np.int64),
                SITE: pd.Series(dtype=object),
                AGENT: pd.Series(dtype=object),
                "staffed_ms": pd.Series(dtype=np.int64),
            }
        )
    interval_ms = interval_s * 1000
    start = sessions["start_ms"].to_numpy(np.int64)
    end = sessions["end_ms"].to_numpy(np.int64)
    rows, iv, overlap = _expand_over_intervals(start, end, interval_ms)
    out = pd.DataFrame(
        {
            IV: iv * interval_s,
            SITE: sessions[SITE].to_numpy(object)[rows],
            AGENT: sessions[AGENT].to_numpy(object)[rows],
            "staffed_ms": overlap,
        }
    )
    return out.groupby([IV, SITE, AGENT], sort=False, as_index=False)["staffed_ms"].sum()


def _outer(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    merged = left.merge(right, on=keys, how="outer")
    value_cols = [c for c in merged.columns if c not in keys]
    merged[value_cols] = merged[value_cols].fillna(0).astype(np.int64)
    return merged


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    n = num.to_numpy(np.float64)
    d = den.to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(d > 0, n / d, np.nan), index=num.index)


def add_kpis(df: pd.DataFrame, params: KpiParams) -> pd.DataFrame:
    """Derived KPIs (ratios of sums) of a table holding the sum columns."""
    resolved = df["answered"] + df["abandoned"]
    df["sl_ignore"] = _ratio(df["ans_within"], df["answered"])
    df["sl_negative"] = _ratio(df["ans_within"], resolved)
    df["sl_positive"] = _ratio(df["ans_within"] + df["aband_within"], resolved)
    df["service_level"] = df[f"sl_{params.abandon_treatment}"]
    df["asa_s"] = _ratio(df["wait_answered_ms"], df["answered"]) / 1000.0
    handle = df["talk_ms"] + df["hold_ms"] + df["wrap_ms"]
    df["aht_s"] = _ratio(handle, df["answered"]) / 1000.0
    df["abandon_rate"] = _ratio(df["abandoned"], df["offered"] - df["short_abandoned"])
    df["avg_abandon_wait_s"] = _ratio(df["wait_abandoned_ms"], df["abandoned"]) / 1000.0
    df["occupancy"] = _ratio(df["agents_busy_ms"], df["staffed_ms"])
    df["agents_staffed"] = df["staffed_ms"] / (params.interval_s * 1000.0)
    return df


def kpi_table(partial: Partial, params: KpiParams) -> pd.DataFrame:
    """KPI rows of every level (see the module docstring), sorted by site, level and key."""
    calls = partial.calls
    busy = partial.busy
    if calls.empty and busy.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})
    staffed = staffed_frame(partial.sessions, params.interval_s)
    agent_busy = busy.groupby([IV, SITE, AGENT], sort=False, as_index=False)["busy_ms"].sum()
    agent_tot = _outer(agent_busy, staffed, [IV, SITE, AGENT])
    agent_tot["agents_busy_ms"] = agent_tot["busy_ms"]
    served = calls[calls[AGENT] != NO_AGENT]

    aq = _outer(served, busy, [IV, SITE, QUEUE, AGENT])
    aq = aq.merge(
        agent_tot[[IV, SITE, AGENT, "agents_busy_ms", "staffed_ms"]], on=[IV, SITE, AGENT],
        how="left",
    )
    aq[["agents_busy_ms", "staffed_ms"]] = aq[["agents_busy_ms", "staffed_ms"]].fillna(0)

    agent = served.groupby([IV, SITE, AGENT], sort=False, as_index=False)[SUM_COLUMNS].sum()
    agent = _outer(agent, agent_tot, [IV, SITE, AGENT])
    agent[QUEUE] = None

    queue = calls.groupby([IV, SITE, QUEUE], sort=False, as_index=False)[SUM_COLUMNS].sum()
    on_queue = busy.merge(
        agent_tot[[IV, SITE, AGENT, "agents_busy_ms", "staffed_ms"]], on=[IV, SITE, AGENT],
        how="left",
    )
    queue_time = on_queue.groupby([IV, SITE, QUEUE], sort=False, as_index=False)[
        TIME_COLUMNS
    ].sum()
    queue = _outer(queue, queue_time, [IV, SITE, QUEUE])
    queue[AGENT] = None

    site = calls.groupby([IV, SITE], sort=False, as_index=False)[SUM_COLUMNS].sum()
    site_time = agent_tot.groupby([IV, SITE], sort=False, as_index=False)[TIME_COLUMNS].sum()
    site = _outer(site, site_time, [IV, SITE])
    site[QUEUE] = None
    site[AGENT] = None

    frames = []
    for level, frame in zip(LEVELS, (aq, agent, queue, site), strict=True):
        frame = frame.copy()
        frame["level"] = level
        for col in [*SUM_COLUMNS, *TIME_COLUMNS]:
            frame[col] = frame[col].fillna(0).astype(np.int64) if col in frame else 0
        frames.append(add_kpis(frame, params)[OUTPUT_COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    out[IV] = out[IV].astype(np.int64)
    for col in (QUEUE, AGENT):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    out["_lvl"] = out["level"].map(order)
    out = out.sort_values(
        [SITE, "_lvl", IV, QUEUE, AGENT], kind="stable", na_position="first", ignore_index=True
    )
    return out.drop(columns="_lvl")
