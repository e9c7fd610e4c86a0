"""Interval KPIs from call detail records, as exactly mergeable partial aggregates.

A partition of CDR rows (one site, usually one day) becomes a :class:`Partial`: integer sums
and counts per ``(interval_start, site, queue, agent_id)``, busy time per agent and interval,
and agents' activity sessions. Durations are summed as integer milliseconds (each record's
duration is rounded once), so merging partials in any order and grouping gives *exactly* the
numbers of one pass over all rows: a Ray task per partition returns a Partial and the driver
merges them (:func:`merge_partials`); :mod:`central.stats.rollup` turns the result into KPIs.

Definitions (per call, which lands in the interval of its ``arrival_at``):

- offered: the call reached a queue: ``queued_at``, else ``offered_at``, else ``answered_at``
  (answered without queueing) is set; that time is the queue entry.
- wait: answered -> ``answered_at - entry``; otherwise ``ended_at - entry``.
- answered: ``answered_at`` is set (whatever the end reason: a transfer after answer counts).
- abandoned: end reason ``abandoned_in_queue`` with wait > ``short_abandon_s``; the others are
  ``short_abandoned`` (excluded from abandoned and from the service-level denominators).
  ``abandoned_in_ivr`` calls never reached a queue and are counted apart.
- service level with threshold ``t`` (``ans_within``: answered with wait <= t;
  ``aband_within``: abandoned with wait <= t). Cisco's three treatments of abandons:

  ====================  ================================================================
  ``ignore``            ans_within / answered  (abandons are left out)
  ``negative`` (dflt)   ans_within / (answered + abandoned)  (abandons count as misses)
  ``positive``          (ans_within + aband_within) / (answered + abandoned)
                        (abandons within t count as met)
  ====================  ================================================================

  ``negative`` is the default: it is the conservative one, and with abandons it equals
  "answered within threshold / offered (less short abandons and calls that left the queue
  by callback, voicemail or transfer)". All three are reported.
- ASA = sum of answered waits / answered. AHT = (talk + hold + wrap-up) / answered, where
  talk = ``ended_at - answered_at - hold_total_s`` and wrap-up = ``wrap_up_end_at - ended_at``.
- transfers and failovers: sums of the columns; callbacks: ``callback_requested`` is true.

Malformed records are skipped and counted per reason (the first failing check, in the order
of :data:`MALFORMED_REASONS`), never silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from central.stats.params import KpiParams

END_REASONS = (
    "answered_completed",
    "abandoned_in_ivr",
    "abandoned_in_queue",
    "voicemail",
    "callback_requested",
    "transferred_out",
    "failed_over",
    "rejected",
    "error",
)
MALFORMED_REASONS = (
    "null_call_id",
    "null_queue",
    "null_arrival_at",
    "null_ended_at",
    "null_end_reason",
    "unknown_end_reason",
    "ended_before_arrival",
    "queued_before_arrival",
    "answered_without_answered_at",
    "abandoned_without_queue_time",
    "abandoned_after_answer",
    "answered_out_of_order",
    "wrap_up_before_end",
    "negative_counter",
    "hold_exceeds_talk",
)
KEYS = ["interval_start", "site", "queue", "agent_id"]
COUNT_COLUMNS = [
    "calls",
    "offered",
    "answered",
    "ans_within",
    "abandoned",
    "aband_within",
    "short_abandoned",
    "callbacks",
    "transfers",
    "failovers",
    *(f"n_{reason}" for reason in END_REASONS),
]
MS_COLUMNS = [
    "wait_answered_ms",
    "wait_abandoned_ms",
    "wait_queued_ms",
    "talk_ms",
    "hold_ms",
    "wrap_ms",
]
SUM_COLUMNS = COUNT_COLUMNS + MS_COLUMNS
BUSY_KEYS = ["interval_start", "site", "queue", "agent_id"]
SESSION_COLUMNS = ["site", "agent_id", "start_ms", "end_ms"]
NO_AGENT = ""
# Times are rounded by their writers: order checks allow half a millisecond of jitter.
_ORDER_TOLERANCE_S = 0.0005


@dataclass(slots=True)
class Partial:
    """Mergeable aggregates of some CDR rows (see the module docstring)."""

    calls: pd.DataFrame
    busy: pd.DataFrame
    sessions: pd.DataFrame
    malformed: Counter[tuple[str, str]] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)

    @classmethod
    def empty(cls) -> Partial:
        calls = pd.DataFrame({k: pd.Series(dtype=_key_dtype(k)) for k in KEYS})
        for col in SUM_COLUMNS:
            calls[col] = pd.Series(dtype=np.int64)
        busy = pd.DataFrame({k: pd.Series(dtype=_key_dtype(k)) for k in BUSY_KEYS})
        busy["busy_ms"] = pd.Series(dtype=np.int64)
        sessions = pd.DataFrame(
            {
                "site": pd.Series(dtype=object),
                "agent_id": pd.Series(dtype=object),
                "start_ms": pd.Series(dtype=np.int64),
                "end_ms": pd.Series(dtype=np.int64),
            }
        )
        return cls(calls, busy, sessions)


def _key_dtype(name: str) -> type:
    return np.int64 if name == "interval_start" else object


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return np.asarray(pd.to_numeric(df[col], errors="coerce"), dtype=np.float64)


def _text(df: pd.DataFrame, col: str) -> np.ndarray:
    return np.asarray(df[col].astype(object).where(df[col].notna(), None), dtype=object)


def _ms(seconds: np.ndarray) -> np.ndarray:
    return np.rint(np.nan_to_num(seconds) * 1000.0).astype(np.int64)


def classify(df: pd.DataFrame) -> np.ndarray:
    """Index into :data:`MALFORMED_REASONS` of each row's first failing check, or -1."""
    n = len(df)
    reason = np.full(n, -1, dtype=np.int64)
    arrival, ended = _num(df, "arrival_at"), _num(df, "ended_at")
    queued, offered_at = _num(df, "queued_at"), _num(df, "offered_at")
    answered, wrap = _num(df, "answered_at"), _num(df, "wrap_up_end_at")
    end_reason = _text(df, "end_reason")
    entry = np.where(np.isnan(queued), offered_at, queued)
    entry = np.where(np.isnan(entry), answered, entry)
    hold = np.nan_to_num(_num(df, "hold_total_s"))
    counters = np.nan_to_num(_num(df, "transfers")), np.nan_to_num(_num(df, "failovers"))
    eps = _ORDER_TOLERANCE_S
    with np.errstate(invalid="ignore"):
        checks = (
            df["call_id"].isna().to_numpy(),
            df["queue"].isna().to_numpy(),
            np.isnan(arrival),
            np.isnan(ended),
            df["end_reason"].isna().to_numpy(),
            ~np.isin(end_reason, END_REASONS),
            ended < arrival - eps,
            (queued < arrival - eps) | (offered_at < arrival - eps),
            (end_reason == "answered_completed") & np.isnan(answered),
            (end_reason == "abandoned_in_queue") & np.isnan(entry),
            (end_reason == "abandoned_in_queue") & ~np.isnan(answered),
            (answered < entry - eps) | (answered > ended + eps) | (answered < arrival - eps),
            wrap < ended - eps,
            (hold < 0) | (counters[0] < 0) | (counters[1] < 0),
            ~np.isnan(answered) & (hold > ended - answered + 2 * eps),
        )
    for idx in range(len(checks) - 1, -1, -1):
        reason[np.asarray(checks[idx], dtype=bool)] = idx
    return reason


def _group_sum(
    codes: list[np.ndarray], columns: dict[str, np.ndarray]
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Sum integer ``columns`` per distinct tuple of non-negative integer ``codes``."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        key = key * (int(c.max(initial=0)) + 1) + c
    uniq, inv = np.unique(key, return_inverse=True)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inv] = np.arange(len(key))  # any member: equal keys have equal codes
    sums = {
        name: np.bincount(inv, weights=col, minlength=len(uniq)).round().astype(np.int64)
        for name, col in columns.items()
    }
    return [c[first] for c in codes], sums


def _expand_over_intervals(
    start_ms: np.ndarray, end_ms: np.ndarray, interval_ms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split each [start, end) into interval pieces: (row index, interval index, overlap ms)."""
    first = start_ms // interval_ms
    last = np.maximum(end_ms - 1, start_ms) // interval_ms
    counts = (last - first + 1).astype(np.int64)
    rows = np.repeat(np.arange(len(start_ms)), counts)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    iv = first[rows] + offset
    lo = np.maximum(start_ms[rows], iv * interval_ms)
    hi = np.minimum(end_ms[rows], (iv + 1) * interval_ms)
    return rows, iv, np.maximum(hi - lo, 0)


def merge_sessions(sessions: pd.DataFrame, gap_ms: int) -> pd.DataFrame:
    """Union activity periods per (site, agent), joining those less than ``gap_ms`` apart.

    Joining is single-linkage on the gap, so merging already-merged sessions gives the same
    result as merging all the raw periods: the merge is associative.
    """
    if sessions.empty:
        return sessions.reset_index(drop=True)
    df = sessions.sort_values(["site", "agent_id", "start_ms"], kind="stable")
    ends = df.groupby(["site", "agent_id"], sort=False)["end_ms"].cummax().to_numpy()
    prev_end = np.concatenate(([np.iinfo(np.int64).min // 2], ends[:-1]))
    same = (df["site"].to_numpy()[1:] == df["site"].to_numpy()[:-1]) & (
        df["agent_id"].to_numpy()[1:] == df["agent_id"].to_numpy()[:-1]
    )
    new = np.ones(len(df), dtype=bool)
    new[1:] = ~same | (df["start_ms"].to_numpy()[1:] > prev_end[1:] + gap_ms)
    session_id = np.cumsum(new)
    out = df.groupby(session_id, sort=True).agg(
        site=("site", "first"),
        agent_id=("agent_id", "first"),
        start_ms=("start_ms", "min"),
        end_ms=("end_ms", "max"),
    )
    return out.reset_index(drop=True)


def compute_partial(df: pd.DataFrame, site: str, params: KpiParams) -> Partial:
    """Partial aggregates of one site's CDR rows (columns of ``db.READ_COLUMNS``)."""
    part = Partial.empty()
    part.rows[site] += len(df)
    if df.empty:
        return part
    reason = classify(df)
    bad = reason >= 0
    if bad.any():
        idx, counts = np.unique(reason[bad], return_counts=True)
        for i, c in zip(idx, counts, strict=True):
            part.malformed[(site, MALFORMED_REASONS[i])] += int(c)
        df = df.loc[~bad]
        if df.empty:
            return part
    arrival, ended = _num(df, "arrival_at"), _num(df, "ended_at")
    queued, offered_at = _num(df, "queued_at"), _num(df, "offered_at")
    answered_at, wrap = _num(df, "answered_at"), _num(df, "wrap_up_end_at")
    end_reason = _text(df, "end_reason")
    entry = np.where(np.isnan(queued), offered_at, queued)
    entry = np.where(np.isnan(entry), answered_at, entry)
    offered = ~np.isnan(entry)
    answered = ~np.isnan(answered_at)
    wait_end = np.where(answered, answered_at, ended)
    wait_ms = np.where(offered, _ms(wait_end - np.nan_to_num(entry)), 0)
    threshold_ms = round(params.sl_threshold_s * 1000)
    aband_q = end_reason == "abandoned_in_queue"
    short = aband_q & (wait_ms <= round(params.short_abandon_s * 1000))
    abandoned = aband_q & ~short
    within = wait_ms <= threshold_ms
    hold_ms = _ms(_num(df, "hold_total_s"))
    connected_ms = np.where(answered, _ms(ended - np.nan_to_num(answered_at)), 0)
    wrap_ms = np.where(~np.isnan(wrap), _ms(np.nan_to_num(wrap) - ended), 0)
    cols: dict[str, np.ndarray] = {
        "calls": np.ones(len(df), dtype=np.int64),
        "offered": offered,
        "answered": answered,
        "ans_within": answered & within,
        "abandoned": abandoned,
        "aband_within": abandoned & within,
        "short_abandoned": short,
        "callbacks": df["callback_requested"].fillna(False).astype(bool).to_numpy(),
        "transfers": np.nan_to_num(_num(df, "transfers")),
        "failovers": np.nan_to_num(_num(df, "failovers")),
    }
    for r in END_REASONS:
        cols[f"n_{r}"] = end_reason == r
    cols.update(
        wait_answered_ms=np.where(answered, wait_ms, 0),
        wait_abandoned_ms=np.where(abandoned, wait_ms, 0),
        wait_queued_ms=wait_ms,
        talk_ms=np.where(answered, np.maximum(connected_ms - hold_ms, 0), 0),
        hold_ms=np.where(answered, hold_ms, 0),
        wrap_ms=np.where(answered, wrap_ms, 0),
    )
    interval_ms = params.interval_s * 1000
    iv = _ms(arrival) // interval_ms
    iv0 = int(iv.min())
    q_codes, q_uni = pd.factorize(df["queue"].astype(object), sort=False)
    agents = df["agent_id"].astype(object).where(df["agent_id"].notna(), NO_AGENT)
    a_codes, a_uni = pd.factorize(agents, sort=False)
    float_cols = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    (g_iv, g_q, g_a), sums = _group_sum([iv - iv0, q_codes, a_codes], float_cols)
    part.calls = pd.DataFrame(
        {
            "interval_start": (g_iv + iv0) * params.interval_s,
            "site": site,
            "queue": np.asarray(q_uni, dtype=object)[g_q],
            "agent_id": np.asarray(a_uni, dtype=object)[g_a],
            **sums,
        }
    )
    handled = answered & (agents != NO_AGENT).to_numpy()
    if handled.any():
        start = _ms(answered_at[handled])
        stop = np.maximum(_ms(np.where(np.isnan(wrap), ended, wrap)[handled]), start)
        rows, b_iv, overlap = _expand_over_intervals(start, stop, interval_ms)
        b0 = int(b_iv.min())
        hq, ha = q_codes[handled][rows], a_codes[handled][rows]
        (k_iv, k_q, k_a), bsum = _group_sum(
            [b_iv - b0, hq, ha], {"busy_ms": overlap.astype(np.float64)}
        )
        part.busy = pd.DataFrame(
            {
                "interval_start": (k_iv + b0) * params.interval_s,
                "site": site,
                "queue": np.asarray(q_uni, dtype=object)[k_q],
                "agent_id": np.asarray(a_uni, dtype=object)[k_a],
                "busy_ms": bsum["busy_ms"],
            }
        )
        periods = pd.DataFrame(
            {
                "site": site,
                "agent_id": np.asarray(a_uni, dtype=object)[a_codes[handled]],
                "start_ms": start,
                "end_ms": stop,
            }
        )
        part.sessions = merge_sessions(periods, round(params.session_gap_s * 1000))
    return part


def _sum_frames(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Concatenate; group and sum only when some frames of one site share an interval."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    spans: dict[str, list[tuple[int, int]]] = {}
    for f in frames:
        for site, lo, hi in (
            f.groupby("site", sort=False)["interval_start"].agg(["min", "max"]).itertuples()
        ):
            spans.setdefault(str(site), []).append((int(lo), int(hi)))
    overlap = False
    for ranges in spans.values():
        ranges.sort()
        overlap |= any(b[0] <= a[1] for a, b in pairwise(ranges))
    out = pd.concat(frames, ignore_index=True)
    if overlap:
        out = out.groupby(keys, sort=False, as_index=False).sum()
    return out


def merge_partials(parts: list[Partial], params: KpiParams) -> Partial:
    """Exact merge of partials: sums per key, sessions joined, counters added."""
    merged = Partial.empty()
    calls = _sum_frames([p.calls for p in parts], KEYS)
    if not calls.empty:
        merged.calls = calls
    busy = _sum_frames([p.busy for p in parts], BUSY_KEYS)
    if not busy.empty:
        merged.busy = busy
    sessions = [p.sessions for p in parts if not p.sessions.empty]
    if sessions:
        merged.sessions = merge_sessions(
            pd.concat(sessions, ignore_index=True), round(params.session_gap_s * 1000)
        )
    for p in parts:
        merged.malformed.update(p.malformed)
        merged.rows.update(p.rows)
    return merged
