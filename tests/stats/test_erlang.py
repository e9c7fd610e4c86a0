"""Erlang B/C/A against reference figures and limits."""

from __future__ import annotations

import math

import pytest

from central.stats.erlang import (
    agents_required_a,
    agents_required_c,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    estimate_patience,
)
from central.stats.staffing import agents_required_c_many, erlang_c_sl_many


def test_erlang_c_reference_10_erlangs_14_agents() -> None:
    r = erlang_c_metrics(10.0, 14, aht=180.0, threshold=20.0)
    assert r.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert r.service_level == pytest.approx(0.888, abs=5e-4)
    assert r.asa == pytest.approx(7.84, abs=5e-3)
    assert r.occupancy == pytest.approx(0.714, abs=5e-4)


def test_erlang_b_known_values_and_stability() -> None:
    assert erlang_b(1.0, 1) == pytest.approx(0.5)
    assert erlang_b(2.0, 2) == pytest.approx(0.4)
    # Large systems: no overflow (factorials of 1000 would overflow a float).
    b = erlang_b(950.0, 1000)
    assert 0.0 < b < 0.05
    assert 0.0 < erlang_c(950.0, 1000) < 1.0


def test_overloaded_queue_always_waits() -> None:
    r = erlang_c_metrics(10.0, 10, aht=180.0, threshold=20.0)
    assert r.p_wait == 1.0
    assert r.service_level == 0.0
    assert math.isinf(r.asa)


def test_agents_required_c_is_the_smallest_meeting_target() -> None:
    n = agents_required_c(10.0, 180.0, 20.0, 0.8)
    assert n == 14
    assert erlang_c_metrics(10.0, n, 180.0, 20.0).service_level >= 0.8
    assert erlang_c_metrics(10.0, n - 1, 180.0, 20.0).service_level < 0.8
    assert agents_required_c(0.0, 180.0, 20.0, 0.8) == 0


def test_vectorised_erlang_c_matches_scalar() -> None:
    import numpy as np

    loads = np.array([0.0, 0.5, 10.0, 10.0, 37.2])
    agents = np.array([3, 1, 14, 9, 42])
    aht = np.array([180.0, 120.0, 180.0, 180.0, 240.0])
    sl = erlang_c_sl_many(loads, agents, aht, 20.0)
    for i in range(len(loads)):
        expected = erlang_c_metrics(float(loads[i]), int(agents[i]), float(aht[i]), 20.0)
        assert sl[i] == pytest.approx(expected.service_level, abs=1e-12)
    need = agents_required_c_many(loads, aht, 20.0, 0.8)
    assert list(need) == [agents_required_c(float(x), float(a), 20.0, 0.8)
                          for x, a in zip(loads, aht, strict=True)]


@pytest.mark.parametrize("patience", [1e6, 1e8])
def test_erlang_a_approaches_erlang_c_as_patience_grows(patience: float) -> None:
    c = erlang_c_metrics(10.0, 14, 180.0, 20.0)
    a = erlang_a_metrics(10.0, 14, 180.0, 20.0, patience)
    tol = 1e-3 if patience == 1e6 else 1e-5
    assert a.p_wait == pytest.approx(c.p_wait, abs=tol)
    assert a.service_level == pytest.approx(c.service_level, abs=tol)
    assert a.asa == pytest.approx(c.asa, abs=tol * 100)
    assert a.p_abandon < tol


def test_erlang_a_with_impatient_callers() -> None:
    # Checked against a 400,000-call simulation of M/M/14+M: P(wait) 0.109, SL 0.945,
    # P(abandon) 0.030, ASA 1.38 s.
    a = erlang_a_metrics(10.0, 14, 180.0, 20.0, 60.0)
    assert a.p_wait == pytest.approx(0.1115, abs=2e-3)
    assert a.service_level == pytest.approx(0.9438, abs=2e-3)
    assert a.p_abandon == pytest.approx(0.0303, abs=1e-3)
    # Abandonment shortens the queue: better SL than Erlang C with the same agents.
    assert a.service_level > erlang_c_metrics(10.0, 14, 180.0, 20.0).service_level
    # Overload is stable with abandonment.
    over = erlang_a_metrics(10.0, 8, 180.0, 20.0, 60.0)
    assert 0.0 < over.service_level < 1.0
    assert over.p_abandon > 0.2


def test_erlang_a_monotone_in_agents_and_required_agents() -> None:
    sls = [erlang_a_metrics(10.0, n, 180.0, 20.0, 90.0).service_level for n in range(5, 20)]
    assert sls == sorted(sls)
    n = agents_required_a(10.0, 180.0, 20.0, 0.8, 90.0)
    assert erlang_a_metrics(10.0, n, 180.0, 20.0, 90.0).service_level >= 0.8
    assert erlang_a_metrics(10.0, n - 1, 180.0, 20.0, 90.0).service_level < 0.8
    assert n <= agents_required_c(10.0, 180.0, 20.0, 0.8)


def test_patience_estimate_is_total_wait_over_abandons() -> None:
    assert estimate_patience(600.0, 4) == 150.0
    assert estimate_patience(600.0, 0) is None
