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
- never joined: end reason ``never_joined`` -- central routed the call but its client never
  joined the site before ``site.join_timeout_s`` (a client that gave up before its first
  packet, or a flood of route requests). Nobody was ever on the line: such calls are left out
  of every KPI (not offered, not in ``calls``, not malformed) and counted per site apart
  (``Partial.never_joined``, ``never_joined`` in the report).
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
  talk = ``ended_at - answered_at - hold_total_s - failover_gap_s`` and wrap-up =
  ``wrap_up_end_at - ended_at``. A call that failed over carries its whole history into the
  CDR of the site where it ended (first arrival, first queue entry, first answer): its wait is
  counted from its first queue entry, its talk from its first answer, and the time a talking
  call spent between sites (``failover_gap_s``) is summed apart (``failover_gap_ms``).
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

from central.stats.columns import READ_COLUMNS as READ_COLUMNS
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
NEVER_JOINED = "never_joined"  # not a KPI end reason: such rows are counted apart, see above
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
    "failover_gap_ms",
]
SUM_COLUMNS = COUNT_COLUMNS + MS_COLUMNS
BUSY_KEYS = ["interval_start", "site", "queue", "agent_id"]
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
    never_joined: Counter[str] = field(default_factory=Counter)  # per site: routed, never joined

    @classmethod
    def empty(cls) -> Partial:
        def frame(keys: list[str], ints: list[str]) -> pd.DataFrame:
            cols: dict[str, np.ndarray] = {k: np.zeros(0, dtype=_key_dtype(k)) for k in keys}
            cols.update({c: np.zeros(0, dtype=np.int64) for c in ints})
            return pd.DataFrame(cols)

        return cls(
            frame(KEYS, SUM_COLUMNS),
            frame(BUSY_KEYS, ["busy_ms"]),
            frame(["site", "agent_id"], ["start_ms", "end_ms"]),
        )


def _key_dtype(name: str) -> type:
    return np.int64 if name == "interval_start" else object


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return np.asarray(pd.to_numeric(df[col], errors="coerce"), dtype=np.float64)


def _ms(seconds: np.ndarray) -> np.ndarray:
    return np.rint(np.nan_to_num(seconds) * 1000.0).astype(np.int64)


@dataclass(slots=True)
class _Cdr:
    """The columns of some CDR rows that the KPIs use, read once as numpy arrays."""

    arrival: np.ndarray
    ended: np.ndarray
    queued: np.ndarray
    offered_at: np.ndarray
    answered_at: np.ndarray
    wrap: np.ndarray
    hold: np.ndarray
    gap: np.ndarray  # failover gap of a talking call (NaN in CDRs older than the column)
    transfers: np.ndarray
    failovers: np.ndarray
    reason: np.ndarray  # index into END_REASONS; -1 unknown, -2 null
    null_call_id: np.ndarray
    null_queue: np.ndarray

    @classmethod
    def read(cls, df: pd.DataFrame) -> _Cdr:
        codes, uniq = pd.factorize(df["end_reason"], use_na_sentinel=True)
        index = {r: i for i, r in enumerate(END_REASONS)}
        lut = np.array([index.get(u, -1) for u in uniq] + [-2], dtype=np.int64)
        return cls(
            arrival=_num(df, "arrival_at"),
            ended=_num(df, "ended_at"),
            queued=_num(df, "queued_at"),
            offered_at=_num(df, "offered_at"),
            answered_at=_num(df, "answered_at"),
            wrap=_num(df, "wrap_up_end_at"),
            hold=_num(df, "hold_total_s"),
            gap=_num(df, "failover_gap_s") if "failover_gap_s" in df else np.zeros(len(df)),
            transfers=_num(df, "transfers"),
            failovers=_num(df, "failovers"),
            reason=lut[codes],
            null_call_id=df["call_id"].isna().to_numpy(),
            null_queue=df["queue"].isna().to_numpy(),
        )

    def entry(self) -> np.ndarray:
        """Queue entry: queued, else offered, else answered (NaN: never reached a queue)."""
        entry = np.where(np.isnan(self.queued), self.offered_at, self.queued)
        return np.where(np.isnan(entry), self.answered_at, entry)


def _reason(name: str) -> int:
    return END_REASONS.index(name)


def classify(df: pd.DataFrame) -> np.ndarray:
    """Index into :data:`MALFORMED_REASONS` of each row's first failing check, or -1."""
    return _classify(_Cdr.read(df))


def _classify(c: _Cdr) -> np.ndarray:
    reason = np.full(len(c.arrival), -1, dtype=np.int64)
    arrival, ended, queued, offered_at = c.arrival, c.ended, c.queued, c.offered_at
    answered, wrap = c.answered_at, c.wrap
    entry = c.entry()
    hold = np.nan_to_num(c.hold)
    counters = np.nan_to_num(c.transfers), np.nan_to_num(c.failovers)
    completed = c.reason == _reason("answered_completed")
    aband_q = c.reason == _reason("abandoned_in_queue")
    eps = _ORDER_TOLERANCE_S
    with np.errstate(invalid="ignore"):
        checks = (
            c.null_call_id,
            c.null_queue,
            np.isnan(arrival),
            np.isnan(ended),
            c.reason == -2,
            c.reason < 0,
            ended < arrival - eps,
            (queued < arrival - eps) | (offered_at < arrival - eps),
            completed & np.isnan(answered),
            aband_q & np.isnan(entry),
            aband_q & ~np.isnan(answered),
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
    s_codes, s_uni = pd.factorize(sessions["site"], sort=True)
    a_codes, a_uni = pd.factorize(sessions["agent_id"], sort=True)
    start = sessions["start_ms"].to_numpy(np.int64)
    end = sessions["end_ms"].to_numpy(np.int64)
    order = np.lexsort((start, a_codes, s_codes))  # stable, like a sort by site, agent, start
    group = (s_codes.astype(np.int64) * (len(a_uni) + 1) + a_codes)[order]
    start, end = start[order], end[order]
    # running maximum of the end within each (site, agent): offset each group above the last
    low = int(end.min())
    span = int(end.max()) - low + 1
    rank = np.concatenate(([0], np.cumsum(group[1:] != group[:-1])))
    ends = np.maximum.accumulate((end - low) + rank * span) - rank * span + low
    new = np.ones(len(start), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (start[1:] > ends[:-1] + gap_ms)
    first = np.flatnonzero(new)
    pick = order[first]
    return pd.DataFrame(
        {
            "site": np.asarray(s_uni, dtype=object)[s_codes[pick]],
            "agent_id": np.asarray(a_uni, dtype=object)[a_codes[pick]],
            "start_ms": start[first],
            "end_ms": np.maximum.reduceat(end, first),
        }
    )


def _agent_codes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``agent_id`` (a missing agent is :data:`NO_AGENT`) and their values."""
    codes, uniq = pd.factorize(df["agent_id"], use_na_sentinel=True)
    values = list(np.asarray(uniq, dtype=object))
    if NO_AGENT in values:
        none = values.index(NO_AGENT)
    else:
        none = len(values)
        values.append(NO_AGENT)
    codes = np.where(codes < 0, none, codes).astype(np.int64)
    return codes, np.asarray(values, dtype=object)


def _without_never_joined(df: pd.DataFrame, site: str, part: Partial) -> pd.DataFrame:
    """Rows of calls that were only routed (see the module docstring) out; counted in ``part``."""
    never = (df["end_reason"] == NEVER_JOINED).to_numpy(dtype=bool, na_value=False)
    if not never.any():
        return df
    part.never_joined[site] += int(never.sum())
    return df[~never]


def compute_partial(df: pd.DataFrame, site: str, params: KpiParams) -> Partial:
    """Partial aggregates of one site's CDR rows (columns :data:`READ_COLUMNS`)."""
    part = Partial.empty()
    part.rows[site] += len(df)
    df = _without_never_joined(df, site, part)
    if df.empty:
        return part
    c = _Cdr.read(df)
    reason = _classify(c)
    good = reason < 0
    if not good.all():
        idx, counts = np.unique(reason[~good], return_counts=True)
        for i, n in zip(idx, counts, strict=True):
            part.malformed[(site, MALFORMED_REASONS[i])] += int(n)
        if not good.any():
            return part
    arrival, ended = c.arrival[good], c.ended[good]
    answered_at, wrap = c.answered_at[good], c.wrap[good]
    end_reason = c.reason[good]
    entry = c.entry()[good]
    offered = ~np.isnan(entry)
    answered = ~np.isnan(answered_at)
    wait_end = np.where(answered, answered_at, ended)
    wait_ms = np.where(offered, _ms(wait_end - np.nan_to_num(entry)), 0)
    threshold_ms = round(params.sl_threshold_s * 1000)
    aband_q = end_reason == _reason("abandoned_in_queue")
    short = aband_q & (wait_ms <= round(params.short_abandon_s * 1000))
    abandoned = aband_q & ~short
    within = wait_ms <= threshold_ms
    hold_ms = _ms(c.hold[good])
    gap_ms = _ms(np.nan_to_num(c.gap[good]))
    connected_ms = np.where(answered, _ms(ended - np.nan_to_num(answered_at)), 0)
    wrap_ms = np.where(~np.isnan(wrap), _ms(np.nan_to_num(wrap) - ended), 0)
    callback = df["callback_requested"].fillna(False).astype(bool).to_numpy()[good]
    cols: dict[str, np.ndarray] = {
        "calls": np.ones(len(arrival), dtype=np.int64),
        "offered": offered,
        "answered": answered,
        "ans_within": answered & within,
        "abandoned": abandoned,
        "aband_within": abandoned & within,
        "short_abandoned": short,
        "callbacks": callback,
        "transfers": np.nan_to_num(c.transfers[good]),
        "failovers": np.nan_to_num(c.failovers[good]),
    }
    for i, r in enumerate(END_REASONS):
        cols[f"n_{r}"] = end_reason == i
    cols.update(
        wait_answered_ms=np.where(answered, wait_ms, 0),
        wait_abandoned_ms=np.where(abandoned, wait_ms, 0),
        wait_queued_ms=wait_ms,
        talk_ms=np.where(answered, np.maximum(connected_ms - hold_ms - gap_ms, 0), 0),
        hold_ms=np.where(answered, hold_ms, 0),
        wrap_ms=np.where(answered, wrap_ms, 0),
        failover_gap_ms=np.where(answered, gap_ms, 0),
    )
    interval_ms = params.interval_s * 1000
    iv = _ms(arrival) // interval_ms
    iv0 = int(iv.min())
    q_codes, q_uni = pd.factorize(df["queue"], use_na_sentinel=True)
    q_codes, q_uni = q_codes[good].astype(np.int64), np.asarray(q_uni, dtype=object)
    a_codes, a_uni = _agent_codes(df)
    a_codes = a_codes[good]
    float_cols = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    (g_iv, g_q, g_a), sums = _group_sum([iv - iv0, q_codes, a_codes], float_cols)
    part.calls = pd.DataFrame(
        {
            "interval_start": (g_iv + iv0) * params.interval_s,
            "site": site,
            "queue": q_uni[g_q],
            "agent_id": a_uni[g_a],
            **sums,
        }
    )
    handled = answered & (a_uni[a_codes] != NO_AGENT)
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
                "queue": q_uni[k_q],
                "agent_id": a_uni[k_a],
                "busy_ms": bsum["busy_ms"],
            }
        )
        periods = pd.DataFrame(
            {
                "site": site,
                "agent_id": a_uni[a_codes[handled]],
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
        merged.never_joined.update(p.never_joined)
    return merged
