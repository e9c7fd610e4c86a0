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

    def apply(self, kind: str) -> FaultRecord:
        self._n += 1
        return getattr(self, kind)()  # type: ignore[no-any-return]

    def _restart(self, proc: Proc) -> None:
        if proc.process is not None:
            proc.process.wait(timeout=10)
        proc.start()

    def kill_site(self) -> FaultRecord:
        victim = _site(self.cluster, self._n)
        record = FaultRecord("kill_site", victim.name, time.time())
        victim.signal(signal.SIGKILL)
        time.sleep(self.ttl + 3)
        self._restart(victim)
        record.healed_at = time.time()
        return record

    def pause_site(self, kind: str = "pause_site") -> FaultRecord:
        victim = _site(self.cluster, self._n)
        record = FaultRecord(kind, victim.name, time.time())
        victim.signal(signal.SIGSTOP)
        time.sleep(self.ttl + 3)  # past its lease: central moves its calls
        victim.signal(signal.SIGCONT)
        record.healed_at = time.time()
        return record

    def partition_site(self) -> FaultRecord:
        victim = _site(self.cluster, self._n)
        ns = self.namespaces.get(victim.name)
        if ns is None:
            record = self.pause_site("partition_site")
            record.notes["method"] = "pause (SIGSTOP): the site neither refreshes its lease nor answers"
            return record
        record = FaultRecord("partition_site", victim.name, time.time(),
                             notes={"method": f"link down in network namespace {ns.netns}"})
        ns.cut()
        try:
            time.sleep(self.ttl + 3)  # past its lease: central moves its calls
        finally:
            ns.heal()
        record.healed_at = time.time()
        return record

    def kill_leader(self) -> FaultRecord:
        name = self.cluster.leader()
        victim = next(p for p in self.cluster.procs if p.name == name)
        record = FaultRecord("kill_leader", victim.name, time.time())
        victim.signal(signal.SIGKILL)
        time.sleep(self.ttl + 2)
        self._restart(victim)
        record.healed_at = time.time()
        return record

    def kill_etcd_member(self) -> FaultRecord:
        assert self.cluster.etcd is not None
        members = self.cluster.etcd.members
        victim = members[self._n % len(members)]
        record = FaultRecord("kill_etcd_member", victim.name, time.time())
        self.cluster.etcd.kill_member(victim)
        time.sleep(3)
        self.cluster.etcd.start_member(victim, state="existing")
        record.healed_at = time.time()
        return record


def schedule(short: bool) -> list[str]:
    """The order of faults: one of each kind (short), or three rounds of every kind (full)."""
    return list(KINDS) if short else [kind for _ in range(3) for kind in KINDS]
