"""The driver of :mod:`central.failure.detector`: probes sites that clients report lost and,
on the leader, confirms a death through the router's fenced write.

Every replica probes (a follower needs the verdict to answer its own waiting reconnects), but
only the leader confirms; a follower passes each new report on to the leader. Probes run as
tasks of one :class:`~cluster.tasks.TaskOwner`; results are logged and counted in
``cc_site_probes_total{outcome}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from prometheus_client import Counter

from central.failure.detector import (
    Check,
    Confirm,
    Effect,
    Phase,
    Probe,
    ProbePolicy,
    Settled,
    Verdict,
    current_verdict,
    probed,
    report,
)
from central.failure.probe import Prober
from central.state import ClusterState
from cluster.clock import LOOP_SCHEDULER, SYSTEM_CLOCK, Clock, Scheduler
from cluster.errors import NotLeader
from cluster.logs import log
from cluster.tasks import TaskOwner

_log = logging.getLogger(__name__)

PROBES = Counter("cc_site_probes_total", "probes of sites that clients reported lost", ["outcome"])
for _outcome in Verdict:
    PROBES.labels(_outcome.value)  # every outcome exported from the start (0 until seen)


class Confirms(Protocol):
    """The leader's fenced end of a registration (:meth:`central.routing.router.Router.confirm_dead`)."""

    async def confirm_dead(self, site: str, registration: int, *, lost_at: float, evidence: str) -> bool: ...

    @property
    def leading(self) -> bool: ...


class DeathConfirmer:
    def __init__(
        self,
        state: ClusterState,
        router: Confirms,
        prober: Prober,
        *,
        policy: ProbePolicy,
        enabled: bool = True,
        clock: Clock = SYSTEM_CLOCK,
        scheduler: Scheduler = LOOP_SCHEDULER,
        tell_leader: Callable[[str], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self._state = state
        self._router = router
        self._prober = prober
        self.policy = policy
        self.enabled = enabled
        self._clock = clock
        self._tell_leader = tell_leader
        self._checks: dict[str, Check] = {}
        self._owner = TaskOwner("death-confirmer", scheduler=scheduler)
        state.on_site_left(self._forget)

    async def _forget(self, site: str, _info: object) -> None:
        self._checks.pop(site, None)

    def check(self, site: str) -> Check | None:
        return self._checks.get(site)

    def verdict(self, site: str) -> Verdict | None:
        """The fresh verdict on ``site``'s current registration, if any."""
        check = self._checks.get(site)
        if check is None or check.registration != self._state.registrations.get(site):
            return None
        return current_verdict(check, self._clock.monotonic(), self.policy)

    def report(self, site: str) -> None:
        """A client lost ``site`` (still a member): probe it, unless a round is on or just ended."""
        registration = self._state.registrations.get(site)
        if not self.enabled or registration is None or self._owner.closed:
            return
        check = self._checks.get(site)
        if check is None or check.registration != registration:
            check = Check(site, registration)
        check, effects = report(check, self._clock.monotonic(), self.policy)
        self._checks[site] = check
        self._perform(check, effects)

    def _perform(self, check: Check, effects: list[Effect]) -> None:
        for effect in effects:
            match effect:
                case Probe(delay_s=delay, attempt=attempt):
                    self._probe_after(check.site, check.registration, delay)
                    if attempt == 1 and not self._router.leading and self._tell_leader is not None:
                        self._owner.spawn(self._tell_leader(check.site), f"tell-leader-{check.site}")
                case Confirm(registration=registration, lost_at=lost_at):
                    if self._router.leading:
                        self._owner.spawn(self._confirm(check.site, registration, lost_at), f"confirm-{check.site}")
                case Settled():
                    self._state.changes.pulse()  # waiting reconnects read the verdict

    def _probe_after(self, site: str, registration: int, delay_s: float) -> None:
        def start() -> None:
            if not self._owner.closed:
                self._owner.spawn(self._probe(site, registration), f"probe-{site}")

        if delay_s > 0:
            self._owner.timer(f"probe-{site}", delay_s, start)
        else:
            start()

    async def _probe(self, site: str, registration: int) -> None:
        info = self._state.sites.get(site)
        check = self._checks.get(site)
        if info is None or check is None or check.registration != registration or check.phase is not Phase.PROBING:
            return  # it left (lease, or our own confirmation) or came back meanwhile
        url = str(info.get("url", ""))
        verdict = await self._prober(url)
        PROBES.labels(verdict.value).inc()
        log(_log, logging.INFO if verdict is Verdict.REFUSED else logging.DEBUG, "site probed",
            site=site, url=url, outcome=verdict.value, attempt=check.attempts + 1)
        check = self._checks.get(site)
        if check is None or check.registration != registration or check.phase is not Phase.PROBING:
            return
        check, effects = probed(check, verdict, self._clock.monotonic(), self.policy)
        self._checks[site] = check
        if check.phase is Phase.SETTLED:
            log(_log, logging.INFO, "site reported lost is not dead; its lease decides", site=site,
                outcome=verdict.value)
        self._perform(check, effects)

    async def _confirm(self, site: str, registration: int, monotonic_lost_at: float) -> None:
        # the detector runs on the monotonic clock; the router's records take wall-clock time
        lost_at = self._clock.now() - (self._clock.monotonic() - monotonic_lost_at)
        done = False
        try:
            done = await self._router.confirm_dead(
                site, registration, lost_at=lost_at, evidence=f"connection refused x{self.policy.refusals}"
            )
        except NotLeader:
            pass
        except Exception as exc:  # etcd hiccup: the next report probes again, the lease still holds
            log(_log, logging.WARNING, "site death confirmation failed", site=site, reason=str(exc))
        finally:
            if not done and self._checks.get(site, Check(site, 0)).registration == registration:
                self._checks.pop(site, None)

    async def stop(self) -> None:
        await self._owner.stop()
