"""The death-confirmation machine, every phase x event: only refused connections (N in a row)
confirm a death; a timeout or an unreachable site waits for the lease; reports are coalesced."""

from __future__ import annotations

import pytest

from central.failure.detector import (
    Check,
    Confirm,
    IllegalTransition,
    Phase,
    Probe,
    ProbePolicy,
    Settled,
    Verdict,
    current_verdict,
    probed,
    report,
)

POLICY = ProbePolicy(refusals=2, retry_s=0.05, cooldown_s=1.0)
FRESH = Check("north", registration=7)


def in_phase(phase: Phase, *, at: float = 10.0, verdict: Verdict | None = None) -> Check:
    if phase is Phase.IDLE:
        return FRESH
    check, _ = report(FRESH, at, POLICY)
    if phase is Phase.PROBING:
        return check
    if phase is Phase.SETTLED:
        return probed(check, verdict or Verdict.UNRESPONSIVE, at, POLICY)[0]
    check, _ = probed(check, Verdict.REFUSED, at, POLICY)
    return probed(check, Verdict.REFUSED, at + 0.05, POLICY)[0]


def test_first_report_starts_one_round_and_further_reports_do_not_multiply_probes() -> None:
    check, effects = report(FRESH, 10.0, POLICY)
    assert (check.phase, effects, check.first_report_at) == (Phase.PROBING, [Probe(0.0, 1)], 10.0)
    for t in (10.001, 10.01, 10.2):
        again, effects = report(check, t, POLICY)
        assert (again, effects) == (check, [])


def test_refused_twice_confirms_with_the_time_clients_lost_the_site() -> None:
    check, _ = report(FRESH, 10.0, POLICY)
    check, effects = probed(check, Verdict.REFUSED, 10.002, POLICY)
    assert (check.phase, check.refused, effects) == (Phase.PROBING, 1, [Probe(0.05, 2)])
    check, effects = probed(check, Verdict.REFUSED, 10.053, POLICY)
    assert check.phase is Phase.CONFIRMED
    assert effects == [Confirm(registration=7, lost_at=10.0)]
    assert current_verdict(check, 99.0, POLICY) is Verdict.REFUSED


def test_one_refusal_confirms_when_the_policy_says_so() -> None:
    policy = ProbePolicy(refusals=1)
    check, _ = report(FRESH, 1.0, policy)
    assert probed(check, Verdict.REFUSED, 1.0, policy)[1] == [Confirm(7, 1.0)]


@pytest.mark.parametrize("verdict", [Verdict.UNRESPONSIVE, Verdict.UNREACHABLE, Verdict.HEALTHY])
def test_anything_but_a_refusal_settles_and_leaves_the_site_to_its_lease(verdict: Verdict) -> None:
    check, _ = report(FRESH, 10.0, POLICY)
    check, effects = probed(check, verdict, 10.3, POLICY)
    assert (check.phase, effects) == (Phase.SETTLED, [Settled(verdict)])
    assert not any(isinstance(e, Confirm) for e in effects)
    assert current_verdict(check, 10.5, POLICY) is verdict
    assert current_verdict(check, 11.3, POLICY) is None  # stale after the cooldown


@pytest.mark.parametrize("verdict", [Verdict.UNRESPONSIVE, Verdict.UNREACHABLE, Verdict.HEALTHY])
def test_a_refusal_then_another_verdict_is_no_confirmation(verdict: Verdict) -> None:
    check, _ = report(FRESH, 10.0, POLICY)
    check, _ = probed(check, Verdict.REFUSED, 10.0, POLICY)
    check, effects = probed(check, verdict, 10.05, POLICY)
    assert (check.phase, check.refused, effects) == (Phase.SETTLED, 0, [Settled(verdict)])


def test_reports_during_the_cooldown_start_nothing_then_a_new_round() -> None:
    settled = in_phase(Phase.SETTLED, at=10.0)
    assert report(settled, 10.9, POLICY) == (settled, [])
    check, effects = report(settled, 11.0, POLICY)
    assert (check.phase, effects, check.first_report_at, check.refused) == (Phase.PROBING, [Probe(0.0, 1)], 11.0, 0)


def test_a_confirmed_registration_is_never_probed_again() -> None:
    confirmed = in_phase(Phase.CONFIRMED)
    for t in (10.1, 100.0):
        assert report(confirmed, t, POLICY) == (confirmed, [])


@pytest.mark.parametrize("phase", [Phase.IDLE, Phase.SETTLED, Phase.CONFIRMED])
@pytest.mark.parametrize("verdict", list(Verdict))
def test_a_probe_result_outside_a_round_is_illegal(phase: Phase, verdict: Verdict) -> None:
    with pytest.raises(IllegalTransition):
        probed(in_phase(phase), verdict, 11.0, POLICY)


def test_no_verdict_before_any_probe() -> None:
    assert current_verdict(None, 1.0, POLICY) is None
    assert current_verdict(in_phase(Phase.PROBING), 10.0, POLICY) is None


def test_bad_policies_are_refused() -> None:
    for kwargs in ({"refusals": 0}, {"retry_s": -1.0}, {"cooldown_s": -1.0}, {"refusals": 3, "max_attempts": 2}):
        with pytest.raises(ValueError):
            ProbePolicy(**kwargs)  # type: ignore[arg-type]


def test_a_reset_is_inconclusive_it_neither_counts_nor_breaks_the_row_of_refusals() -> None:
    check, _ = report(FRESH, 10.0, POLICY)
    check, effects = probed(check, Verdict.RESET, 10.01, POLICY)  # the kernel still tearing it down
    assert (check.phase, check.refused, effects) == (Phase.PROBING, 0, [Probe(0.05, 2)])
    check, _ = probed(check, Verdict.REFUSED, 10.06, POLICY)
    check, effects = probed(check, Verdict.RESET, 10.11, POLICY)
    assert (check.phase, check.refused, effects) == (Phase.PROBING, 1, [Probe(0.05, 4)])
    check, effects = probed(check, Verdict.REFUSED, 10.16, POLICY)
    assert check.phase is Phase.CONFIRMED and effects == [Confirm(7, 10.0)]


@pytest.mark.parametrize("last", [Verdict.RESET, Verdict.REFUSED])
def test_a_round_that_runs_out_of_attempts_without_proof_settles_unresponsive(last: Verdict) -> None:
    policy = ProbePolicy(refusals=2, retry_s=0.0, cooldown_s=1.0, max_attempts=3)
    check, _ = report(FRESH, 10.0, policy)
    check, _ = probed(check, Verdict.RESET, 10.0, policy)
    check, _ = probed(check, Verdict.RESET, 10.0, policy)
    check, effects = probed(check, last, 10.0, policy)
    assert (check.phase, check.verdict, effects) == (Phase.SETTLED, Verdict.UNRESPONSIVE,
                                                      [Settled(Verdict.UNRESPONSIVE)])
