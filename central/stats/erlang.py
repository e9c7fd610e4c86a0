"""Queueing formulas for staffing: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M).

Notation: ``load`` is the offered traffic in erlangs, ``A = arrival rate x AHT``; ``agents`` is
the number of agents ``n``; ``aht`` the average handle time and ``threshold`` the service-level
threshold ``t``, both in seconds.

Erlang C (no abandonment)::

    B(0) = 1,  B(k) = A B(k-1) / (k + A B(k-1))          Erlang B by recursion, no factorials
    C    = n B(n) / (n - A (1 - B(n)))                    probability of waiting (n > A, else 1)
    SL   = 1 - C exp(-(n - A) t / AHT)                    P(wait <= t)
    ASA  = C AHT / (n - A)                                average speed of answer (all calls)
    occupancy = A / n

Erlang A adds exponential patience with mean ``patience`` (abandon rate ``theta = 1/patience``).
The state probabilities of the birth-death chain (birth ``lambda``, death
``min(j, n) mu + max(j - n, 0) theta``) are built by a ratio recursion, normalised, and truncated
where the tail is below 1e-16. A caller arriving with ``m`` callers ahead is answered after ``m+1``
stages; in stage ``i`` (``i`` ahead) the queue moves at rate ``n mu + i theta`` and the caller
gives up at rate ``theta``. So::

    P(answered | m)            = prod_i (n mu + i theta) / (n mu + (i + 1) theta)
    P(answered within t | m)   = P(answered | m) * HypoExp(t; rates n mu + (i + 1) theta)
    P(abandon)                 = theta E[queue length] / lambda

The hypoexponential CDF is evaluated by uniformisation for all ``m`` at once. ``SL`` is the
fraction of all callers answered within ``t`` (abandons count against it, like the "negative"
treatment of :mod:`central.stats.kpi`); ``asa`` is the mean wait of the answered callers.

Patience estimate (:func:`estimate_patience`): with exponential patience, each queued caller's
wait is either a full patience (abandoned) or a right-censored one (answered or otherwise left
the queue). The maximum-likelihood estimate of the mean patience is then
``total time waited by all queued callers / number of abandons`` (Brown et al., JASA 2005;
Mandelbaum & Zeltyn). With no abandons the patience is unbounded and Erlang C applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_TAIL = 1e-16
_MAX_QUEUE = 20_000


@dataclass(frozen=True, slots=True)
class ErlangResult:
    """Predicted performance of one interval for ``agents`` agents."""

    agents: int
    load: float
    p_wait: float
    service_level: float
    asa: float
    occupancy: float
    p_abandon: float = 0.0


def _check(load: float, agents: int, aht: float) -> None:
    if load < 0 or not math.isfinite(load):
        raise ValueError(f"load must be a finite number >= 0, got {load!r}")
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents!r}")
    if aht <= 0:
        raise ValueError(f"aht must be > 0, got {aht!r}")


def erlang_b(load: float, agents: int) -> float:
    """Blocking probability of M/M/n/n by the stable recursion."""
    if load < 0:
        raise ValueError(f"load must be >= 0, got {load!r}")
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(load: float, agents: int) -> float:
    """Probability that a caller waits (M/M/n); 1.0 when ``agents <= load``."""
    if agents <= load:
        return 1.0
    b = erlang_b(load, agents)
    return agents * b / (agents - load * (1.0 - b))


def erlang_c_metrics(load: float, agents: int, aht: float, threshold: float) -> ErlangResult:
    """P(wait), service level, ASA and occupancy for ``agents`` agents under Erlang C."""
    _check(load, agents, aht)
    if load == 0:
        return ErlangResult(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    if agents <= load:
        return ErlangResult(agents, load, 1.0, 0.0, math.inf, 1.0)
    c = erlang_c(load, agents)
    sl = 1.0 - c * math.exp(-(agents - load) * threshold / aht)
    asa = c * aht / (agents - load)
    return ErlangResult(agents, load, c, sl, asa, load / agents)


def agents_required_c(
    load: float, aht: float, threshold: float, target_sl: float, max_occupancy: float = 1.0
) -> int:
    """Smallest ``n`` whose Erlang C service level reaches ``target_sl`` (0 when no load)."""
    if not 0 < target_sl < 1:
        raise ValueError(f"target_sl must be in (0, 1), got {target_sl!r}")
    if load <= 0:
        return 0
    n = max(1, math.floor(load) + 1, math.ceil(load / max_occupancy))
    while erlang_c_metrics(load, n, aht, threshold).service_level < target_sl:
        n += 1
    return n


def estimate_patience(total_wait_s: float, abandoned: int) -> float | None:
    """Mean patience (s) by the censored exponential MLE; ``None`` without abandons."""
    if abandoned <= 0 or total_wait_s <= 0:
        return None
    return total_wait_s / abandoned


def _erlang_a_states(lam: float, mu: float, theta: float, n: int) -> np.ndarray:
    """Stationary probabilities pi_0..pi_J of M/M/n+M (J chosen by the tail)."""
    log_terms = [0.0]
    log_p = 0.0
    j = 0
    peak = 0.0
    while True:
        j += 1
        death = min(j, n) * mu + max(j - n, 0) * theta
        log_p += math.log(lam) - math.log(death)
        log_terms.append(log_p)
        peak = max(peak, log_p)
        if j > n and (log_p - peak < math.log(_TAIL) or j - n > _MAX_QUEUE):
            break
    arr = np.asarray(log_terms)
    p = np.exp(arr - arr.max())
    return np.asarray(p / p.sum())


def _hypoexp_cdf_all(rates: np.ndarray, t: float) -> np.ndarray:
    """``out[m] = P(sum of Exp(rates[0..m]) <= t)`` for every m, by uniformisation."""
    big = float(rates.max())
    mean = big * t
    k_max = int(mean + 12.0 * math.sqrt(mean) + 30)
    ks = np.arange(k_max + 1)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, k_max + 1)))))
    log_mean = math.log(mean) if mean > 0 else -math.inf
    with np.errstate(invalid="ignore"):
        weights = np.exp(np.where(ks > 0, ks * log_mean, 0.0) - mean - log_fact)
    move = rates / big
    # g[m] = P(done within k steps | m + 1 stages left); g_prev shifted gives "one stage fewer".
    g = np.zeros(len(rates))
    out = np.zeros(len(rates))
    for k in range(1, k_max + 1):
        shifted = np.concatenate(([1.0], g[:-1]))
        g = move * shifted + (1.0 - move) * g
        out += weights[k] * g
    return np.asarray(np.clip(out, 0.0, 1.0))


def erlang_a_metrics(
    load: float, agents: int, aht: float, threshold: float, patience: float
) -> ErlangResult:
    """Erlang A (exponential patience of mean ``patience`` s) for ``agents`` agents."""
    _check(load, agents, aht)
    if patience <= 0:
        raise ValueError(f"patience must be > 0, got {patience!r}")
    if load == 0:
        return ErlangResult(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    if agents == 0:
        return ErlangResult(0, load, 1.0, 0.0, math.inf, 0.0, 1.0)
    mu = 1.0 / aht
    lam = load * mu
    theta = 1.0 / patience
    pi = _erlang_a_states(lam, mu, theta, agents)
    queue_pi = pi[agents:]
    m = np.arange(len(queue_pi))
    p_wait = float(queue_pi.sum())
    p_abandon = float(theta * (m * queue_pi).sum() / lam)
    move = agents * mu + m * theta
    stage = agents * mu + (m + 1) * theta
    p_served = np.cumprod(move / stage)
    within = p_served * _hypoexp_cdf_all(stage, threshold)
    sl = float(pi[:agents].sum() + (queue_pi * within).sum())
    mean_wait_served = np.cumsum(1.0 / stage)
    answered = 1.0 - p_abandon
    asa = float((queue_pi * p_served * mean_wait_served).sum() / answered) if answered > 0 else 0.0
    busy = float((np.minimum(np.arange(len(pi)), agents) * pi).sum())
    return ErlangResult(agents, load, p_wait, sl, asa, busy / agents, p_abandon)


def agents_required_a(
    load: float, aht: float, threshold: float, target_sl: float, patience: float
) -> int:
    """Smallest ``n`` whose Erlang A service level reaches ``target_sl`` (0 when no load)."""
    if not 0 < target_sl < 1:
        raise ValueError(f"target_sl must be in (0, 1), got {target_sl!r}")
    if load <= 0:
        return 0
    lo, hi = 1, agents_required_c(load, aht, threshold, target_sl)
    while lo < hi:
        mid = (lo + hi) // 2
        if erlang_a_metrics(load, mid, aht, threshold, patience).service_level >= target_sl:
            hi = mid
        else:
            lo = mid + 1
    return lo
