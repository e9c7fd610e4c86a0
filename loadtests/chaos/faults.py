"""Faults applied to a running :class:`~cluster.launcher.LocalCluster`, and the schedules.

Each fault is applied, held, then healed (the victim restarted or resumed) and returns a
:class:`FaultRecord` with its times. A site is cut off the network by taking its network
namespace's link down (packets dropped, connections left hanging) where the run could make
namespaces, and by pausing it (SIGSTOP) otherwise: from the cluster's side both look the same
(no lease refresh, no answers), and the pause needs no privileges.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cluster.launcher import LocalCluster, Proc
from loadtests.chaos.netns import SiteNamespace

KINDS = ("kill_site", "pause_site", "kill_leader", "kill_etcd_member", "partition_site")


@dataclass
class FaultRecord:
    kind: str
    target: str
    at: float  # wall clock (epoch seconds): comparable with CDR times
    healed_at: float | None = None
    recovered_at: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _site(cluster: LocalCluster, index: int) -> Proc:
    sites = [p for p in cluster.procs if p.role == "site"]
    return sites[index % len(sites)]


class Injector:
    def __init__(self, cluster: LocalCluster, *, lease_ttl_s: float,
                 namespaces: dict[str, SiteNamespace] | None = None) -> None:
        self.cluster = cluster
        self.ttl = lease_ttl_s
        self.namespaces = namespaces or {}
        self._n = 0
        self._restarted: set[str] = set()

    def apply(self, kind: str) -> FaultRecord:
        self._n += 1
        return getattr(self, kind)()  # type: ignore[no-any-return]

    def _restart(self, proc: Proc) -> None:
        if proc.process is not None:
            proc.process.wait(timeout=10)
        proc.start()

    def _hold(self, kind: str, target: str, apply: Callable[[], None], heal: Callable[[], None], hold_s: float,
              **notes: Any) -> FaultRecord:
        """Apply a fault, hold it ``hold_s``, heal it (always), and record the times."""
        record = FaultRecord(kind, target, time.time(), notes=dict(notes))
        apply()
        try:
            time.sleep(hold_s)
        finally:
            heal()
        record.healed_at = time.time()
        return record

    def kill_site(self) -> FaultRecord:
        victim = _site(self.cluster, self._n)
        return self._hold("kill_site", victim.name, lambda: victim.signal(signal.SIGKILL),
                          lambda: self._restart(victim), self.ttl + 3)

    def pause_site(self) -> FaultRecord:
        victim = _site(self.cluster, self._n)  # held past its lease: central moves its calls
        return self._hold("pause_site", victim.name, lambda: victim.signal(signal.SIGSTOP),
                          lambda: victim.signal(signal.SIGCONT), self.ttl + 3)

    def partition_site(self) -> FaultRecord:
        victim = _site(self.cluster, self._n)
        ns = self.namespaces.get(victim.name)
        if ns is not None:
            return self._hold("partition_site", victim.name, ns.cut, ns.heal, self.ttl + 3,
                              method=f"link down in network namespace {ns.netns}")
        record = self.pause_site()
        record.kind = "partition_site"
        record.notes["method"] = "pause (SIGSTOP): the site neither refreshes its lease nor answers"
        return record

    def kill_leader(self) -> FaultRecord:
        name = self.cluster.leader()
        victim = next(p for p in self.cluster.procs if p.name == name)
        return self._hold("kill_leader", victim.name, lambda: victim.signal(signal.SIGKILL),
                          lambda: self._restart(victim), self.ttl + 2)

    # ---- rolling upgrade: each process stopped cleanly (SIGTERM) and started again, one at a time
    def _graceful(self, kind: str, victim: Proc) -> FaultRecord:
        self._restarted.add(victim.name)
        return self._hold(kind, victim.name, victim.stop, victim.start, 0.5, signal="SIGTERM")

    def restart_site(self) -> FaultRecord:
        sites = [p for p in self.cluster.procs if p.role == "site"]
        victim = next((p for p in sites if p.name not in self._restarted), sites[0])
        return self._graceful("restart_site", victim)

    def restart_central(self) -> FaultRecord:
        """Followers first, the leader last (as an operator rolls an upgrade)."""
        centrals = [p for p in self.cluster.procs if p.role == "central"]
        leader = self.cluster.leader()
        waiting = [p for p in centrals if p.name not in self._restarted]
        victim = next((p for p in waiting if p.name != leader), waiting[0] if waiting else centrals[0])
        return self._graceful("restart_central", victim)

    def kill_etcd_member(self) -> FaultRecord:
        etcd = self.cluster.etcd
        assert etcd is not None
        victim = etcd.members[self._n % len(etcd.members)]
        return self._hold("kill_etcd_member", victim.name, lambda: etcd.kill_member(victim),
                          lambda: etcd.start_member(victim, state="existing"), 3)

def schedule(short: bool, *, rolling: bool = False, sites: int = 3, centrals: int = 3) -> list[str]:
    """The order of faults: one of each kind (short), three rounds of every kind (full), or a
    rolling upgrade (every site, then every central replica, restarted cleanly one at a time)."""
    if rolling:
        return ["restart_site"] * sites + ["restart_central"] * centrals
    return list(KINDS) if short else [kind for _ in range(3) for kind in KINDS]
