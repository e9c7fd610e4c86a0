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

How. Sites, queues and agents become integer codes (sorted, so code order is text order) and
each row key one ``int64``; every level is a sum over the rows that map to its key (an outer
join of sums is the sum over both sides), computed exactly with ``np.add.reduceat`` on
``int64``. :func:`kpi_columns` returns compact columns (:class:`~central.stats.table.KpiColumns`)
for a task to ship; :func:`kpi_table` the ``DataFrame``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from central.stats.kpi import NO_AGENT, SUM_COLUMNS, Partial, _expand_over_intervals
from central.stats.params import KpiParams
from central.stats.table import (
    KPI_COLUMNS,
    LEVELS,
    OUTPUT_COLUMNS,
    TIME_COLUMNS,
    VALUE_COLUMNS,
    KpiColumns,
)

__all__ = [
    "KPI_COLUMNS",
    "LEVELS",
    "OUTPUT_COLUMNS",
    "TIME_COLUMNS",
    "add_kpis",
    "kpi_arrays",
    "kpi_columns",
    "kpi_table",
    "staffed_frame",
]
IV, SITE, QUEUE, AGENT = "interval_start", "site", "queue", "agent_id"
_BUSY = VALUE_COLUMNS.index("busy_ms")
_AGENTS_BUSY = VALUE_COLUMNS.index("agents_busy_ms")
_STAFFED = VALUE_COLUMNS.index("staffed_ms")
_NSUM = len(SUM_COLUMNS)


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


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    n = np.asarray(num, dtype=np.float64)
    d = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, n / d, np.nan)


def kpi_arrays(v: Mapping[str, np.ndarray], params: KpiParams) -> dict[str, np.ndarray]:
    """Derived KPIs (ratios of sums) from the sum and time columns."""
    resolved = v["answered"] + v["abandoned"]
    out = {
        "sl_ignore": _ratio(v["ans_within"], v["answered"]),
        "sl_negative": _ratio(v["ans_within"], resolved),
        "sl_positive": _ratio(v["ans_within"] + v["aband_within"], resolved),
        "asa_s": _ratio(v["wait_answered_ms"], v["answered"]) / 1000.0,
        "aht_s": _ratio(v["talk_ms"] + v["hold_ms"] + v["wrap_ms"], v["answered"]) / 1000.0,
        "avg_failover_gap_s": _ratio(v["failover_gap_ms"], v["failovers"]) / 1000.0,
        "abandon_rate": _ratio(v["abandoned"], v["offered"] - v["short_abandoned"]),
        "avg_abandon_wait_s": _ratio(v["wait_abandoned_ms"], v["abandoned"]) / 1000.0,
        "occupancy": _ratio(v["agents_busy_ms"], v["staffed_ms"]),
        "agents_staffed": np.asarray(v["staffed_ms"], dtype=np.float64)
        / (params.interval_s * 1000.0),
    }
    out["service_level"] = out[f"sl_{params.abandon_treatment}"]
    return out


def add_kpis(df: pd.DataFrame, params: KpiParams) -> pd.DataFrame:
    """Derived KPIs (ratios of sums) of a table holding the sum and time columns."""
    values = {c: df[c].to_numpy() for c in VALUE_COLUMNS if c in df}
    for name, col in kpi_arrays(values, params).items():
        df[name] = pd.Series(col, index=df.index)
    return df


class _Keys:
    """Row keys ``(site, interval, queue, agent)`` packed into one int64 (site first)."""

    def __init__(self, n_iv: int, n_queue: int, n_agent: int) -> None:
        self.n_iv, self.nq, self.na = n_iv, n_queue + 1, n_agent + 1

    def pack(self, s: np.ndarray, iv: np.ndarray, q: np.ndarray | int,
             a: np.ndarray | int) -> np.ndarray:
        key = s.astype(np.int64) * self.n_iv + iv
        return (key * self.nq + (np.asarray(q) + 1)) * self.na + (np.asarray(a) + 1)

    def unpack(self, key: np.ndarray) -> tuple[np.ndarray, ...]:
        a = key % self.na - 1
        key = key // self.na
        q = key % self.nq - 1
        key = key // self.nq
        return key // self.n_iv, key % self.n_iv, q, a


Cols = Mapping[int, np.ndarray]  # index into VALUE_COLUMNS -> one value per row
_EXACT = 2**53  # float64 holds every integer sum below this exactly


def _sum_by(inv: np.ndarray, col: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of ``col`` per group index ``inv``."""
    if len(col) and int(np.abs(col).max()) * len(col) < _EXACT:
        return np.rint(np.bincount(inv, weights=col, minlength=size)).astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, inv, col)
    return out


def _group_sum(sources: list[tuple[np.ndarray, Cols]]) -> tuple[np.ndarray, np.ndarray]:
    """Sums (columns x keys) of every source's columns per distinct key, keys ascending.

    An outer join of tables of sums, filled with zeros, is the same as this sum over both.
    """
    keys = np.concatenate([k for k, _ in sources])
    uniq, inv = np.unique(keys, return_inverse=True)
    out = np.zeros((len(VALUE_COLUMNS), len(uniq)), dtype=np.int64)
    offset = 0
    for k, cols in sources:
        seg = inv[offset : offset + len(k)]
        offset += len(k)
        for idx, col in cols.items():
            if col.any():
                out[idx] += _sum_by(seg, col, len(uniq))
    return uniq, out


def _lookup(keys: np.ndarray, table_keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Rows of ``table`` (columns x rows) at ``keys``; zeros where a key is absent."""
    pos = np.searchsorted(table_keys, keys)
    pos = np.minimum(pos, max(len(table_keys) - 1, 0))
    found = table_keys[pos] == keys if len(table_keys) else np.zeros(len(keys), dtype=bool)
    out = np.zeros((table.shape[0], len(keys)), dtype=np.int64)
    out[:, found] = table[:, pos[found]]
    return out


def _codes(columns: list[pd.Series]) -> tuple[list[str], list[np.ndarray]]:
    """Sorted vocabulary of the text ``columns`` and each column's codes into it."""
    joint = np.concatenate([np.asarray(c, dtype=object) for c in columns])
    codes, uniq = pd.factorize(joint, sort=True)
    bounds = np.cumsum([len(c) for c in columns])[:-1]
    return [str(u) for u in uniq], np.split(codes.astype(np.int32), bounds)


def kpi_columns(partial: Partial, params: KpiParams) -> KpiColumns:
    """KPI rows of every level as compact columns, sorted by site, level and key."""
    calls, busy, sessions = partial.calls, partial.busy, partial.sessions
    if calls.empty and busy.empty:
        return KpiColumns.empty()
    interval_s = params.interval_s
    sites, (c_s, b_s, x_s) = _codes([calls[SITE], busy[SITE], sessions[SITE]])
    queues, (c_q, b_q) = _codes([calls[QUEUE], busy[QUEUE]])
    agents, (c_a, b_a, x_a) = _codes([calls[AGENT], busy[AGENT], sessions[AGENT]])
    rows, x_iv, x_ms = _expand_over_intervals(
        sessions["start_ms"].to_numpy(np.int64), sessions["end_ms"].to_numpy(np.int64),
        interval_s * 1000,
    )
    x_s, x_a = x_s[rows], x_a[rows]
    c_iv = calls[IV].to_numpy(np.int64) // interval_s
    b_iv = busy[IV].to_numpy(np.int64) // interval_s
    iv0 = int(min(a.min(initial=np.iinfo(np.int64).max) for a in (c_iv, b_iv, x_iv)))
    c_iv, b_iv, x_iv = c_iv - iv0, b_iv - iv0, x_iv - iv0
    n_iv = int(max(a.max(initial=0) for a in (c_iv, b_iv, x_iv))) + 1
    k = _Keys(n_iv, len(queues), len(agents))

    served = c_a != (agents.index(NO_AGENT) if NO_AGENT in agents else -2)
    c_all: Cols = dict(enumerate(calls[SUM_COLUMNS].to_numpy(np.int64).T))
    c_served: Cols = {i: col[served] for i, col in c_all.items()}
    b_ms = busy["busy_ms"].to_numpy(np.int64)
    b_agent_key = k.pack(b_s, b_iv, -1, b_a)

    # per agent and interval: busy on every queue, staffed
    at_keys, at = _group_sum(
        [(b_agent_key, {_BUSY: b_ms}), (k.pack(x_s, x_iv, -1, x_a), {_STAFFED: x_ms})]
    )
    at[_AGENTS_BUSY] = at[_BUSY]
    agent_time: Cols = {_BUSY: at[_BUSY], _AGENTS_BUSY: at[_BUSY], _STAFFED: at[_STAFFED]}
    at_time = at[[_BUSY, _STAFFED]]
    b_agent = _lookup(b_agent_key, at_keys, at_time)
    at_s, at_iv, _, _ = k.unpack(at_keys)
    cs, civ, cq, ca = c_s[served], c_iv[served], c_q[served], c_a[served]
    levels: list[list[tuple[np.ndarray, Cols]]] = [
        # agent_queue: served calls and busy time on the queue (+ the agent's totals below)
        [(k.pack(cs, civ, cq, ca), c_served), (k.pack(b_s, b_iv, b_q, b_a), {_BUSY: b_ms})],
        # agent: served calls of every queue, and the agent's totals
        [(k.pack(cs, civ, -1, ca), c_served), (at_keys, agent_time)],
        # queue: all its calls; the time of the agents who were busy on it
        [
            (k.pack(c_s, c_iv, c_q, -1), c_all),
            (k.pack(b_s, b_iv, b_q, -1),
             {_BUSY: b_ms, _AGENTS_BUSY: b_agent[0], _STAFFED: b_agent[1]}),
        ],
        # site: all its calls and all its agents' time
        [(k.pack(c_s, c_iv, -1, -1), c_all), (k.pack(at_s, at_iv, -1, -1), agent_time)],
    ]
    parts = []
    for lvl, sources in enumerate(levels):
        uniq, sums = _group_sum(sources)
        if lvl == 0:
            s, iv, _, a = k.unpack(uniq)
            sums[[_AGENTS_BUSY, _STAFFED]] = _lookup(k.pack(s, iv, -1, a), at_keys, at_time)
        parts.append((lvl, uniq, sums))
    return _assemble(parts, k, iv0, interval_s, sites, queues, agents, params)


def _assemble(
    parts: list[tuple[int, np.ndarray, np.ndarray]],
    k: _Keys,
    iv0: int,
    interval_s: int,
    sites: list[str],
    queues: list[str],
    agents: list[str],
    params: KpiParams,
) -> KpiColumns:
    level = np.concatenate([np.full(len(u), lvl, dtype=np.int8) for lvl, u, _ in parts])
    s, iv, q, a = k.unpack(np.concatenate([u for _, u, _ in parts]))
    values = np.concatenate([v for _, _, v in parts], axis=1)
    if len(s) and (s[1:] < s[:-1]).any():  # several sites: each level is sorted by site
        order = np.argsort(s, kind="stable")
        level, s, iv, q, a, values = level[order], s[order], iv[order], q[order], a[order], (
            values[:, order])
    kpis = kpi_arrays(dict(zip(VALUE_COLUMNS, values, strict=True)), params)
    return KpiColumns(
        level=level,
        interval_start=(iv + iv0) * interval_s,
        site=s.astype(np.int32),
        queue=q.astype(np.int32),
        agent=a.astype(np.int32),
        sites=sites,
        queues=queues,
        agents=agents,
        values=values,
        kpis=np.stack([kpis[c] for c in KPI_COLUMNS]),
    )


def kpi_table(partial: Partial, params: KpiParams) -> pd.DataFrame:
    """KPI rows of every level (see the module docstring), sorted by site, level and key."""
    return kpi_columns(partial, params).to_frame()
