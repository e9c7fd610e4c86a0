"""Staffing per interval: agents required (Erlang C, and Erlang A where patience is known),
and forecast versus actual service level.

For each ``(interval, site, queue)`` row of the KPI table:

- ``load_erlangs = (offered - short_abandoned) / interval_s x AHT``. AHT is the interval's own
  when it answered calls, else the queue's AHT over the whole run.
- ``patience_s``: the censored exponential estimate of :func:`central.stats.erlang.
  estimate_patience` over the queue's whole run (per interval it is too noisy): total queue
  wait of all queued callers / all queue abandons (short ones included). ``None`` without
  abandons, and then no Erlang A figures.
- ``agents_required_c`` / ``agents_required_a``: the fewest agents whose predicted service level
  reaches ``sl_target`` with threshold ``sl_threshold_s``.
- ``agents_staffed``: the average number of agents active on the queue (see rollup.py), and
  ``forecast_sl_c`` / ``forecast_sl_a``: the Erlang prediction with that many agents (rounded),
  next to ``actual_sl``, the measured ``service_level``.

Erlang C is computed for all rows at once (vectorised Erlang B recursion); Erlang A per row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from central.stats.erlang import agents_required_a, erlang_a_metrics
from central.stats.params import KpiParams

STAFFING_COLUMNS = [
    "interval_start",
    "site",
    "queue",
    "offered",
    "aht_s",
    "load_erlangs",
    "patience_s",
    "agents_required_c",
    "agents_required_a",
    "agents_staffed",
    "forecast_sl_c",
    "forecast_sl_a",
    "actual_sl",
]


def erlang_c_sl_many(
    load: np.ndarray, agents: np.ndarray, aht: np.ndarray, threshold: float
) -> np.ndarray:
    """Erlang C service level of many (load, agents, aht) triples at once."""
    load = np.asarray(load, dtype=np.float64)
    agents = np.asarray(agents, dtype=np.int64)
    n_max = int(agents.max(initial=0))
    b = np.ones_like(load)
    b_at = np.ones_like(load)
    for k in range(1, n_max + 1):
        b = load * b / (k + load * b)
        b_at = np.where(agents == k, b, b_at)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = agents * b_at / (agents - load * (1.0 - b_at))
        sl = 1.0 - c * np.exp(-(agents - load) * threshold / aht)
    sl = np.where(agents > load, sl, 0.0)
    return np.where(load <= 0, 1.0, sl)


def agents_required_c_many(
    load: np.ndarray, aht: np.ndarray, threshold: float, target: float
) -> np.ndarray:
    """Fewest agents reaching ``target`` under Erlang C, for many intervals at once."""
    load = np.asarray(load, dtype=np.float64)
    need = np.where(load > 0, np.floor(load) + 1, 0).astype(np.int64)
    todo = load > 0
    while todo.any():
        sl = erlang_c_sl_many(load[todo], need[todo], aht[todo], threshold)
        short = sl < target
        idx = np.flatnonzero(todo)
        need[idx[short]] += 1
        todo[idx[~short]] = False
    return need


def staffing_table(kpis: pd.DataFrame, params: KpiParams, erlang_a: bool = True) -> pd.DataFrame:
    """Staffing rows for the queue-level rows of a KPI table (see the module docstring)."""
    q = kpis[kpis["level"] == "queue"].reset_index(drop=True)
    if q.empty:
        return pd.DataFrame(columns=STAFFING_COLUMNS)
    group = q.groupby(["site", "queue"], sort=False)
    handle = q["talk_ms"] + q["hold_ms"] + q["wrap_ms"]
    queue_aht = (
        handle.groupby([q["site"], q["queue"]]).transform("sum")
        / group["answered"].transform("sum").replace(0, np.nan)
        / 1000.0
    )
    aht = q["aht_s"].where(q["answered"] > 0, queue_aht)
    all_aband = (q["abandoned"] + q["short_abandoned"]).groupby([q["site"], q["queue"]])
    patience = (
        q["wait_queued_ms"].groupby([q["site"], q["queue"]]).transform("sum")
        / all_aband.transform("sum").replace(0, np.nan)
        / 1000.0
    )
    demand = (q["offered"] - q["short_abandoned"]).clip(lower=0)
    load = (demand / params.interval_s * aht).fillna(0.0).to_numpy()
    aht_arr = aht.fillna(1.0).to_numpy()
    t = params.sl_threshold_s
    need_c = agents_required_c_many(load, aht_arr, t, params.sl_target)
    staffed = np.rint(q["agents_staffed"].to_numpy(np.float64)).astype(np.int64)
    forecast_c = erlang_c_sl_many(load, staffed, aht_arr, t)
    need_a = np.full(len(q), -1, dtype=np.int64)
    forecast_a = np.full(len(q), np.nan)
    if erlang_a:
        pat = patience.to_numpy(np.float64)
        for i in np.flatnonzero((load > 0) & ~np.isnan(pat)):
            need_a[i] = agents_required_a(load[i], aht_arr[i], t, params.sl_target, pat[i])
            forecast_a[i] = erlang_a_metrics(
                load[i], int(staffed[i]), aht_arr[i], t, pat[i]
            ).service_level
    out = pd.DataFrame(
        {
            "interval_start": q["interval_start"],
            "site": q["site"],
            "queue": q["queue"],
            "offered": q["offered"],
            "aht_s": aht,
            "load_erlangs": load,
            "patience_s": patience,
            "agents_required_c": need_c,
            "agents_required_a": pd.array(
                [None if v < 0 else int(v) for v in need_a], dtype="Int64"
            ),
            "agents_staffed": q["agents_staffed"],
            "forecast_sl_c": np.where(load > 0, forecast_c, np.nan),
            "forecast_sl_a": forecast_a,
            "actual_sl": q["service_level"],
        }
    )
    return out[STAFFING_COLUMNS]


def summary(staffing: pd.DataFrame) -> dict[str, float]:
    """Whole-run figures: mean absolute SL forecast error, intervals under-staffed."""
    both = staffing.dropna(subset=["forecast_sl_c", "actual_sl"])
    under = int((staffing["agents_staffed"] < staffing["agents_required_c"]).sum())
    err = float((both["forecast_sl_c"] - both["actual_sl"]).abs().mean()) if len(both) else math.nan
    return {"intervals": float(len(staffing)), "understaffed_c": float(under), "sl_mae_c": err}
