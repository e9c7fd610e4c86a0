"""The death-confirmation machine of one site registration: pure, no I/O, no clock reads.

A *report* is a client saying it lost the site (its first reconnect or re-attach while the site
is still a member). The first report starts a probe round; reports during a round, or within
``cooldown_s`` of its verdict, start nothing (a hundred callers cost one round). A round probes
until ``refusals`` refused connections in a row (``retry_s`` apart) confirm the death, or stops
at the first other verdict. A ``reset`` (the connection was accepted, then dropped unanswered:
the kernel is still tearing the process down) is inconclusive: it neither counts nor breaks the
row, and the round probes again, at most ``max_attempts`` probes in all:

    IDLE --report--> PROBING --refused x N--> CONFIRMED (effect: Confirm(lost_at))
                        |--healthy / unresponsive / unreachable--> SETTLED (effect: Settled)
    SETTLED --report after cooldown--> PROBING

``lost_at`` is the first report of the round: when clients saw the site go (the failover gap
of a moved call starts there). A confirmed registration is never probed again; a site that
registers anew (a new create revision) gets a new :class:`Check`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Verdict(StrEnum):
    HEALTHY = "healthy"  # it answered HTTP: alive (a client's own network blip)
    UNRESPONSIVE = "unresponsive"  # no answer in time: paused, overloaded, or the path is cut
    UNREACHABLE = "unreachable"  # no route / host down: a partition looks like this; the lease decides
    REFUSED = "refused"  # the host answered, nothing listens: the process is gone
    RESET = "reset"  # accepted, then dropped unanswered: a process dying (or starting): probe again


class Phase(StrEnum):
    IDLE = "idle"
    PROBING = "probing"
    SETTLED = "settled"
    CONFIRMED = "confirmed"


@dataclass(frozen=True, slots=True)
class ProbePolicy:
    refusals: int = 2  # refused connections in a row that confirm a death
    retry_s: float = 0.02  # pause between the probes of one round
    cooldown_s: float = 1.0  # after a verdict, reports start no new round for this long
    max_attempts: int = 6  # probes in one round at most (resets are retried up to this)

    def __post_init__(self) -> None:
        if self.refusals < 1 or self.retry_s < 0 or self.cooldown_s < 0 or self.max_attempts < self.refusals:
            raise ValueError(f"bad probe policy {self}")


@dataclass(frozen=True, slots=True)
class Check:
    site: str
    registration: int  # create revision of the membership key being judged
    phase: Phase = Phase.IDLE
    refused: int = 0  # refused probes in a row in this round
    attempts: int = 0  # probes done in this round
    verdict: Verdict | None = None
    verdict_at: float | None = None
    first_report_at: float | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """Probe the site after ``delay_s``; ``attempt`` 1 starts a round."""

    delay_s: float
    attempt: int


@dataclass(frozen=True, slots=True)
class Confirm:
    """The site's process is gone: fence-delete this registration and fail it over now."""

    registration: int
    lost_at: float


@dataclass(frozen=True, slots=True)
class Settled:
    """A round ended without evidence of death; waiters re-read the verdict."""

    verdict: Verdict


Effect = Probe | Confirm | Settled


class IllegalTransition(RuntimeError):
    pass


def report(check: Check, now: float, policy: ProbePolicy) -> tuple[Check, list[Effect]]:
    """A client lost the site."""
    if check.phase in (Phase.PROBING, Phase.CONFIRMED):
        return check, []
    if check.phase is Phase.SETTLED and check.verdict_at is not None and now - check.verdict_at < policy.cooldown_s:
        return check, []
    started = replace(check, phase=Phase.PROBING, refused=0, attempts=0, first_report_at=now)
    return started, [Probe(0.0, 1)]


def probed(check: Check, verdict: Verdict, now: float, policy: ProbePolicy) -> tuple[Check, list[Effect]]:
    """A probe of the round came back with ``verdict``."""
    if check.phase is not Phase.PROBING:
        raise IllegalTransition(f"probe result {verdict} for {check.site} in phase {check.phase}")
    attempts = check.attempts + 1
    if verdict is Verdict.REFUSED:
        refused = check.refused + 1
        if refused >= policy.refusals:
            assert check.first_report_at is not None
            confirmed = replace(check, phase=Phase.CONFIRMED, refused=refused, attempts=attempts, verdict=verdict,
                                verdict_at=now)
            return confirmed, [Confirm(check.registration, check.first_report_at)]
        if attempts < policy.max_attempts:
            return replace(check, refused=refused, attempts=attempts), [Probe(policy.retry_s, attempts + 1)]
    elif verdict is Verdict.RESET and attempts < policy.max_attempts:
        return replace(check, attempts=attempts), [Probe(policy.retry_s, attempts + 1)]
    if verdict in (Verdict.REFUSED, Verdict.RESET):
        verdict = Verdict.UNRESPONSIVE  # the round ran out of attempts without proof: the lease decides
    settled = replace(check, phase=Phase.SETTLED, refused=0, attempts=attempts, verdict=verdict, verdict_at=now)
    return settled, [Settled(verdict)]


def current_verdict(check: Check | None, now: float, policy: ProbePolicy) -> Verdict | None:
    """What is known of the site now: a verdict younger than the cooldown, or a confirmation."""
    if check is None or check.verdict is None or check.verdict_at is None:
        return None
    if check.phase is Phase.CONFIRMED:
        return check.verdict
    if check.phase is Phase.SETTLED and now - check.verdict_at < policy.cooldown_s:
        return check.verdict
    return None
