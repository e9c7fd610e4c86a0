"""Confirming a site's death before its lease expires (issue 16, point 3).

    detector.py   the pure decision: per site, (check, event) -> (check, effects)
    probe.py      one probe of a site's HTTP port: refused, unresponsive, unreachable, healthy
    confirmer.py  the driver: runs probes (owned tasks), asks the leader's fenced write to
                  confirm a death, keeps verdicts for the rejoin waits
    rejoin.py     where a caller or agent goes now, waiting (bounded) for central's move

Only a **refused connection** (the host answers, nothing listens: the process is gone) counts
as evidence of death; a timeout or an unreachable host (a paused, slow or cut-off site) is left
to the lease.
"""

from central.failure.detector import Check, Confirm, Phase, Probe, ProbePolicy, Settled, Verdict, probed, report

__all__ = ["Check", "Confirm", "Phase", "Probe", "ProbePolicy", "Settled", "Verdict", "probed", "report"]
