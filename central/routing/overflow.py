"""Cross-site overflow: a pure function over call records, site snapshots and the time.

A call overflows to another site when all of these hold:

- its skill has an overflow threshold (``central.overflow_after_s``, per skill; off otherwise);
- it is ``queued`` and has waited at least that long since its original arrival;
- its own site has nobody ready for the skill (or is not in the snapshots any more);
- another, non-draining site has someone ready for it.

The target is the site with the most ready agents for the skill (ties: the greater name).
Calls are decided in serve order (:attr:`cluster.callrecords.CallRecord.queue_order`), all
against the same snapshots: the sites' load is only re-read on the next round. The router
performs the moves (fenced writes); nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from central.routing.selection import SiteSnapshot
from cluster.callrecords import CallRecord


@dataclass(frozen=True, slots=True)
class Overflow:
    record: CallRecord
    target: str


def _ready(site: SiteSnapshot, skill: str) -> int:
    load = site.skills.get(skill)
    return load.ready if load is not None else 0


def select_overflow(
    records: Iterable[CallRecord],
    sites: Iterable[SiteSnapshot],
    overflow_after_s: Mapping[str, float],
    now: float,
) -> list[Overflow]:
    """The calls that overflow now and the site each goes to, in serve order."""
    snapshots = list(sites)
    by_name = {s.name: s for s in reversed(snapshots)}  # the first of a name, as listed
    decisions: list[Overflow] = []
    for record in sorted(records, key=lambda c: c.queue_order):
        threshold = overflow_after_s.get(record.skill)
        if threshold is None or record.state != "queued" or now - record.original_arrival_at < threshold:
            continue
        here = by_name.get(record.site)
        if here is not None and _ready(here, record.skill) > 0:
            continue
        elsewhere = [
            s for s in snapshots if s.name != record.site and not s.draining and _ready(s, record.skill) > 0
        ]
        if elsewhere:
            target = max(elsewhere, key=lambda s: (_ready(s, record.skill), s.name))
            decisions.append(Overflow(record, target.name))
    return decisions
