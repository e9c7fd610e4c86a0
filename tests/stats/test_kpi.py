"""KPIs of a small hand-computed set of records, and exact mergeability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from central.stats.db import READ_COLUMNS
from central.stats.kpi import compute_partial, merge_partials
from central.stats.params import KpiParams
from central.stats.rollup import kpi_table
from central.stats.staffing import staffing_table
from central.stats.synthetic import synthetic_calls

T0 = 1_700_000_100  # a multiple of 900: the start of a 15-minute interval
NAN = np.nan


def _call(call_id: str, reason: str, arrival: float, ended: float, **kw: object) -> dict:
    row: dict[str, object] = {c: None for c in READ_COLUMNS}
    row.update(
        call_id=call_id, queue="q1", end_reason=reason, arrival_at=T0 + arrival,
        ended_at=T0 + ended, hold_total_s=0.0, transfers=0, failovers=0,
        callback_requested=False,
    )
    for key in ("queued_at", "offered_at", "answered_at", "wrap_up_end_at"):
        row[key] = T0 + kw.pop(key) if key in kw else NAN  # type: ignore[operator]
    row.update(kw)
    return row


def hand_records() -> pd.DataFrame:
    rows = [
        # answered after 15 s (within 20 s); talk 80 + hold 20 + wrap-up 10 = 110 s
        _call("c1", "answered_completed", 0, 125, queued_at=10, answered_at=25,
              wrap_up_end_at=135, hold_total_s=20.0, agent_id="a1"),
        # answered after 30 s (late); talk 100 + wrap-up 10; one transfer
        _call("c2", "answered_completed", 30, 170, queued_at=40, answered_at=70,
              wrap_up_end_at=180, agent_id="a2", transfers=1),
        # abandoned after 3 s: short abandon
        _call("c3", "abandoned_in_queue", 50, 63, queued_at=60),
        # abandoned after 15 s (within threshold)
        _call("c4", "abandoned_in_queue", 100, 125, queued_at=110),
        # abandoned after 50 s
        _call("c5", "abandoned_in_queue", 200, 260, queued_at=210),
        # hung up in the IVR: never offered to the queue
        _call("c6", "abandoned_in_ivr", 300, 320),
        # asked for a callback after 30 s in queue
        _call("c7", "callback_requested", 400, 440, queued_at=410, callback_requested=True),
        # another queue, answered at once, no wrap-up, failed over once before
        _call("c8", "answered_completed", 500, 565, queued_at=505, answered_at=505,
              agent_id="a1", failovers=1, queue="q2"),
        # malformed: ends before it arrives; unknown end reason
        _call("c9", "answered_completed", 600, 590, queued_at=600, answered_at=600),
        _call("c10", "exploded", 700, 710),
        # next interval: answered after 10 s by a2, talk 50 + wrap-up 10
        _call("c11", "answered_completed", 950, 1010, queued_at=950, answered_at=960,
              wrap_up_end_at=1020, agent_id="a2"),
    ]
    return pd.DataFrame(rows, columns=list(READ_COLUMNS))


def _table(df: pd.DataFrame, params: KpiParams) -> pd.DataFrame:
    return kpi_table(merge_partials([compute_partial(df, "s1", params)], params), params)


def _row(table: pd.DataFrame, level: str, start: int, queue: str | None = None,
         agent: str | None = None) -> pd.Series:
    sel = (table["level"] == level) & (table["interval_start"] == start)
    sel &= table["queue"].isna() if queue is None else table["queue"] == queue
    sel &= table["agent_id"].isna() if agent is None else table["agent_id"] == agent
    rows = table[sel]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_queue_interval_by_hand() -> None:
    t = _table(hand_records(), KpiParams())
    q1 = _row(t, "queue", T0, "q1")
    assert (q1.calls, q1.offered, q1.answered, q1.ans_within) == (7, 6, 2, 1)
    assert (q1.abandoned, q1.aband_within, q1.short_abandoned) == (2, 1, 1)
    assert (q1.callbacks, q1.transfers, q1.failovers, q1.n_abandoned_in_ivr) == (1, 1, 0, 1)
    assert q1.sl_ignore == pytest.approx(1 / 2)
    assert q1.sl_negative == pytest.approx(1 / 4)
    assert q1.sl_positive == pytest.approx(2 / 4)
    assert q1.service_level == q1.sl_negative  # the default treatment
    assert q1.asa_s == pytest.approx((15 + 30) / 2)
    assert q1.aht_s == pytest.approx((110 + 110) / 2)
    assert q1.abandon_rate == pytest.approx(2 / 5)
    assert q1.avg_abandon_wait_s == pytest.approx((15 + 50) / 2)
    assert q1.wait_queued_ms == (15 + 30 + 3 + 15 + 50 + 30) * 1000


def test_site_interval_by_hand() -> None:
    t = _table(hand_records(), KpiParams())
    s = _row(t, "site", T0)
    assert (s.calls, s.offered, s.answered, s.ans_within, s.abandoned) == (8, 7, 3, 2, 2)
    assert s.sl_negative == pytest.approx(2 / 5)
    assert s.asa_s == pytest.approx(45 / 3)
    assert s.aht_s == pytest.approx((110 + 110 + 60) / 3)
    assert s.failovers == 1
    nxt = _row(t, "site", T0 + 900)
    assert (nxt.calls, nxt.answered, nxt.ans_within, nxt.sl_negative) == (1, 1, 1, 1.0)


def test_occupancy_by_hand() -> None:
    # a1: busy 25..135 and 505..565 (gap 370 s < 900 s: one session 25..565, 540 s staffed).
    # a2: busy 70..180 and 960..1020 (one session 70..1020: 830 s + 120 s staffed).
    t = _table(hand_records(), KpiParams())
    a1 = _row(t, "agent", T0, agent="a1")
    assert (a1.busy_ms, a1.staffed_ms, a1.answered) == (170_000, 540_000, 2)
    assert a1.occupancy == pytest.approx(170 / 540)
    a2_next = _row(t, "agent", T0 + 900, agent="a2")
    assert a2_next.occupancy == pytest.approx(60 / 120)
    site = _row(t, "site", T0)
    assert site.occupancy == pytest.approx(280 / 1370)
    assert site.agents_staffed == pytest.approx(1370 / 900)
    q2 = _row(t, "queue", T0, "q2")
    assert q2.occupancy == pytest.approx(170 / 540)  # only a1 served q2
    assert _row(t, "agent_queue", T0, "q2", "a1").busy_ms == 60_000


def test_malformed_records_are_counted_per_reason() -> None:
    part = compute_partial(hand_records(), "s1", KpiParams())
    assert dict(part.malformed) == {
        ("s1", "ended_before_arrival"): 1,
        ("s1", "unknown_end_reason"): 1,
    }
    assert part.rows["s1"] == 11
    assert int(part.calls["calls"].sum()) == 9


def test_abandon_treatment_and_short_abandon_threshold() -> None:
    t = _table(hand_records(), KpiParams(abandon_treatment="ignore"))
    assert _row(t, "queue", T0, "q1").service_level == pytest.approx(0.5)
    t = _table(hand_records(), KpiParams(abandon_treatment="positive"))
    assert _row(t, "queue", T0, "q1").service_level == pytest.approx(0.5)
    t = _table(hand_records(), KpiParams(short_abandon_s=0))
    q1 = _row(t, "queue", T0, "q1")
    assert (q1.abandoned, q1.aband_within, q1.short_abandoned) == (3, 2, 0)
    assert q1.sl_negative == pytest.approx(1 / 5)


def test_thirty_minute_intervals() -> None:
    t = _table(hand_records(), KpiParams(interval_s=1800))
    site = t[t["level"] == "site"]
    # T0 is half-way through a 30-minute interval; c11 (T0 + 950 s) falls in the next one.
    assert list(site["calls"]) == [8, 1]
    assert list(site["interval_start"]) == [T0 - 900, T0 + 900]


def test_staffing_patience_from_abandons() -> None:
    params = KpiParams()
    staffing = staffing_table(_table(hand_records(), params), params)
    q1 = staffing[(staffing["queue"] == "q1") & (staffing["interval_start"] == T0)].iloc[0]
    # over the queue's whole run: waits 15+30+3+15+50+30 (+10 for c11) s, 3 abandons
    assert q1.patience_s == pytest.approx(153 / 3)
    # 5 calls wanting service (6 offered - 1 short abandon) in 900 s, AHT 110 s
    assert q1.load_erlangs == pytest.approx(5 / 900 * 110)
    assert q1.agents_required_c >= 1 and q1.agents_required_a <= q1.agents_required_c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partials_merge_exactly_in_any_split(seed: int) -> None:
    params = KpiParams(session_gap_s=600)
    df = synthetic_calls("s1", 20_000, 2, 4_000, seed=seed, malformed_rate=0.002)
    df = df[list(READ_COLUMNS)]
    whole = kpi_table(merge_partials([compute_partial(df, "s1", params)], params), params)
    rng = np.random.default_rng(seed)
    shuffled = df.iloc[rng.permutation(len(df))]
    chunks = np.array_split(np.arange(len(df)), 7)
    parts = [compute_partial(shuffled.iloc[c], "s1", params) for c in chunks]
    rng.shuffle(parts)  # type: ignore[arg-type]
    split = kpi_table(merge_partials(parts, params), params)
    pd.testing.assert_frame_equal(whole, split)


def test_calls_routed_but_never_joined_are_not_offered_nor_in_any_figure() -> None:
    params = KpiParams()
    never = [  # routed, the client never joined: a CDR without queue, IVR or agent
        _call(f"n{i}", "never_joined", 10 * i, 10 * i + 30, queue=None) for i in range(50)
    ]
    with_never = pd.concat([hand_records(), pd.DataFrame(never, columns=list(READ_COLUMNS))], ignore_index=True)
    part = compute_partial(with_never, "s1", params)
    assert part.never_joined["s1"] == 50 and part.rows["s1"] == 11 + 50
    assert dict(part.malformed) == dict(compute_partial(hand_records(), "s1", params).malformed)
    merged = merge_partials([part, compute_partial(hand_records().iloc[:0], "s1", params)], params)
    assert merged.never_joined["s1"] == 50
    pd.testing.assert_frame_equal(kpi_table(merged, params), _table(hand_records(), params))
    site = _row(kpi_table(merged, params), "site", T0)
    assert (site.calls, site.offered) == (8, 7)
