"""Synthetic call detail records (numpy, deterministic by seed) for tests, demos and benchmarks.

Calls arrive with a daytime profile, go through the IVR (some abandon there), wait in a
queue with exponential patience (some abandon, some ask for a callback), and are answered by
agents of the queue's pool, in turn. ``malformed_rate`` spoils that share of the rows in a few
known ways, so the malformed-record accounting can be checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert

from central.stats.db import calls_table, run_on

ALL_COLUMNS = [c.name for c in calls_table.columns]
QUEUES = ("retail", "cards", "loans", "vip")
_QUEUE_WEIGHTS = np.array([0.5, 0.25, 0.15, 0.1])
_DAY_S = 86_400


def synthetic_calls(
    site: str,
    first_day: int,
    days: int,
    calls_per_day: int,
    *,
    seed: int,
    agents_per_queue: int = 200,
    malformed_rate: float = 0.0,
) -> pd.DataFrame:
    """CDR rows of ``site`` over ``days`` UTC days from epoch day ``first_day``."""
    rng = np.random.default_rng(seed)
    n = days * calls_per_day
    day = np.repeat(np.arange(days), calls_per_day) + first_day
    # Daytime profile: most calls between 08:00 and 20:00, peaks mid-morning and afternoon.
    tod = np.where(
        rng.random(n) < 0.5, rng.normal(10.5 * 3600, 7200, n), rng.normal(15 * 3600, 9000, n)
    )
    tod = np.clip(tod, 0, _DAY_S - 1)
    arrival = np.round(day * float(_DAY_S) + tod, 1)
    order = np.argsort(arrival, kind="stable")
    arrival = arrival[order]
    q_idx = rng.choice(len(QUEUES), size=n, p=_QUEUE_WEIGHTS)
    ivr_end = arrival + np.round(rng.exponential(40.0, n), 3)
    in_ivr_abandon = rng.random(n) < 0.04
    error = rng.random(n) < 0.002
    wait = np.where(rng.random(n) < 0.55, 0.0, rng.exponential(30.0, n))
    patience = rng.exponential(150.0, n)
    callback = (rng.random(n) < 0.02) & (wait > 15)
    abandoned = (patience < wait) & ~callback
    answered = ~(in_ivr_abandon | error | abandoned | callback)
    queued = ~(in_ivr_abandon | error)
    leave = np.round(ivr_end + np.where(abandoned, patience, np.minimum(wait, 15.0)), 3)
    answered_at = np.round(ivr_end + wait, 3)
    talk = np.round(rng.lognormal(np.log(160.0), 0.5, n), 3)
    hold = np.where(rng.random(n) < 0.15, np.round(rng.exponential(25.0, n), 3), 0.0)
    wrap = np.round(rng.exponential(20.0, n), 3)
    transfers = (rng.random(n) < 0.06).astype(np.int64)
    ended = np.where(answered, answered_at + talk + hold, leave)
    ended = np.where(in_ivr_abandon | error, ivr_end, ended)
    end_reason = np.select(
        [error, in_ivr_abandon, abandoned, callback, transfers > 0],
        ["error", "abandoned_in_ivr", "abandoned_in_queue", "callback_requested",
         "transferred_out"],
        "answered_completed",
    ).astype(object)
    # Agents in turn; each hour staffs its queue for the load it carries, plus 20 %.
    hour = ((arrival - first_day * float(_DAY_S)) // 3600).astype(np.int64)
    cell = hour * len(QUEUES) + q_idx
    handle = np.where(answered, talk + hold + wrap, 0.0)
    load = np.bincount(cell, weights=handle, minlength=days * 24 * len(QUEUES)) / 3600.0
    pool = np.minimum(np.maximum(np.ceil(load * 1.2), 1), agents_per_queue).astype(np.int64)
    rank = np.zeros(n, dtype=np.int64)
    for q in range(len(QUEUES)):
        sel = answered & (q_idx == q)
        rank[sel] = np.arange(int(sel.sum()))
    index = rank % pool[cell]
    names = np.array(
        [f"{site}-{q}-{i:03d}" for q in QUEUES for i in range(agents_per_queue)], dtype=object
    )
    agent = names[q_idx * agents_per_queue + index]
    nan = np.nan
    df = pd.DataFrame(
        {
            "call_id": [f"{site}-{first_day}-{i:08d}" for i in range(n)],
            "site": site,
            "queue": np.array(QUEUES, dtype=object)[q_idx],
            "skill": np.array(QUEUES, dtype=object)[q_idx],
            "priority": rng.integers(0, 3, n),
            "caller_number": None,
            "dialled_number": "+4930123456",
            "customer_id": None,
            "agent_id": np.where(answered, agent, None),
            "flow_id": "main",
            "flow_version": 1,
            "original_arrival_at": arrival,
            "arrival_at": arrival,
            "ivr_start_at": arrival,
            "ivr_end_at": ivr_end,
            "queued_at": np.where(queued, ivr_end, nan),
            "offered_at": np.where(answered, np.maximum(answered_at - 3.0, ivr_end), nan),
            "answered_at": np.where(answered, answered_at, nan),
            "ended_at": ended,
            "wrap_up_end_at": np.where(answered, ended + wrap, nan),
            "hold_total_s": np.where(answered, hold, 0.0),
            "transfers": np.where(answered, transfers, 0),
            "failovers": (rng.random(n) < 0.005).astype(np.int64),
            "callback_requested": callback,
            "end_reason": end_reason,
            "resumed_from": None,
            "first_site": site,
            "failover_gap_s": 0.0,
            "ivr_path": None,
        }
    )
    if malformed_rate > 0:
        _spoil(df, rng, malformed_rate)
    return df[ALL_COLUMNS]


def _spoil(df: pd.DataFrame, rng: np.random.Generator, rate: float) -> None:
    bad = np.flatnonzero(rng.random(len(df)) < rate)
    kinds = rng.integers(0, 3, len(bad))
    ended = df.columns.get_loc("ended_at")
    reason = df.columns.get_loc("end_reason")
    queue = df.columns.get_loc("queue")
    for row, kind in zip(bad, kinds, strict=True):
        if kind == 0:
            df.iat[row, ended] = df.iat[row, df.columns.get_loc("arrival_at")] - 10.0
        elif kind == 1:
            df.iat[row, reason] = "hung_up_somehow"
        else:
            df.iat[row, queue] = None


def write_calls(url: str, df: pd.DataFrame) -> str:
    """Create ``calls`` at ``url`` (SQLite file or PostgreSQL) holding ``df``; returns ``url``."""
    records = [
        {c: _plain(v) for c, v in zip(ALL_COLUMNS, row, strict=True)}
        for row in df[ALL_COLUMNS].itertuples(index=False, name=None)
    ]

    def work(conn: Connection) -> None:
        calls_table.create(conn, checkfirst=True)
        if records:
            conn.execute(insert(calls_table), records)

    run_on(url, work, readonly=False)
    return url


def write_sqlite(path: Path, df: pd.DataFrame) -> str:
    """Create ``calls`` in the SQLite file ``path`` holding ``df``; returns its URL."""
    return write_calls(f"sqlite:///{path}", df)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
