"""Cross-site overflow is a pure function of the records, the sites' load and the time: a table."""

from __future__ import annotations

import pytest

from central.routing.overflow import Overflow, select_overflow
from central.routing.selection import SiteSnapshot, SkillLoad
from cluster.callrecords import CallRecord

NOW = 1_800_000_000.0
AFTER = {"retail": 60.0}


def site(name: str, draining: bool = False, **ready: int) -> SiteSnapshot:
    skills = {skill: SkillLoad(staffed=max(n, 1), ready=n) for skill, n in ready.items()}
    return SiteSnapshot(name=name, draining=draining, skills=skills)


def call(
    call_id: str, site: str = "north", waited_s: float = 120.0, state: str = "queued",
    skill: str = "retail", priority: int = 1,
) -> CallRecord:
    return CallRecord(call_id, site, state, skill, priority, NOW - waited_s)


NORTH_BUSY = site("north", retail=0)
NORTH_READY = site("north", retail=1)
SOUTH = site("south", retail=2)
EAST = site("east", retail=1)
WEST = site("west", retail=2)  # ties with south on ready agents: the greater name wins
DRAINING = site("drain", draining=True, retail=9)
NO_SKILL = site("loans-only", loans=5)

CASES = [
    # (id, records, sites, overflow_after_s, expected [(call_id, target)])
    ("off unless configured", [call("a")], [NORTH_BUSY, SOUTH], {}, []),
    ("skill without a threshold", [call("a", skill="loans")], [NORTH_BUSY, site("s", loans=3)], AFTER, []),
    ("long waiter moves to the site with ready agents", [call("a")], [NORTH_BUSY, SOUTH], AFTER, [("a", "south")]),
    ("exactly at the threshold overflows", [call("a", waited_s=60)], [NORTH_BUSY, SOUTH], AFTER, [("a", "south")]),
    ("just under the threshold stays", [call("a", waited_s=59.9)], [NORTH_BUSY, SOUTH], AFTER, []),
    ("not queued: stays", [call("a", state="connected"), call("b", state="moving"), call("c", state="ivr")],
     [NORTH_BUSY, SOUTH], AFTER, []),
    ("someone ready at home: stays", [call("a")], [NORTH_READY, SOUTH], AFTER, []),
    ("home site gone from the snapshots: moves", [call("a")], [SOUTH], AFTER, [("a", "south")]),
    ("home site without the skill: moves", [call("a")], [site("north", loans=3), SOUTH], AFTER, [("a", "south")]),
    ("nobody ready anywhere: stays", [call("a")], [NORTH_BUSY, site("south", retail=0)], AFTER, []),
    ("draining and skill-less sites are never targets", [call("a")], [NORTH_BUSY, DRAINING, NO_SKILL], AFTER, []),
    ("most ready agents wins", [call("a")], [NORTH_BUSY, EAST, SOUTH], AFTER, [("a", "south")]),
    ("ties on ready agents: the greater name", [call("a")], [NORTH_BUSY, SOUTH, WEST], AFTER, [("a", "west")]),
    ("serve order: priority, then arrival, then id",
     [call("late", waited_s=100), call("vip", waited_s=70, priority=5), call("early", waited_s=300),
      call("b-same", waited_s=100), call("young", waited_s=10)],
     [NORTH_BUSY, SOUTH], AFTER,
     [("vip", "south"), ("early", "south"), ("b-same", "south"), ("late", "south")]),
    ("one snapshot for the round: every waiter goes to the same site",
     [call("a"), call("b"), call("c")], [NORTH_BUSY, EAST], AFTER, [("a", "east"), ("b", "east"), ("c", "east")]),
    ("each call against its own site", [call("a", site="north"), call("b", site="south")],
     [NORTH_BUSY, site("south", retail=0), EAST], AFTER, [("a", "east"), ("b", "east")]),
    ("a call never overflows to its own site", [call("a", site="south")], [site("south", retail=0), NORTH_BUSY],
     AFTER, []),
    ("per-skill thresholds", [call("r", waited_s=30), call("l", waited_s=30, skill="loans")],
     [NORTH_BUSY, site("south", retail=1, loans=1)], {"retail": 60.0, "loans": 20.0}, [("l", "south")]),
]


@pytest.mark.parametrize(("records", "sites", "after", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_select_overflow(  # type: ignore[no-untyped-def]
    records, sites, after, expected
) -> None:
    decisions = select_overflow(records, sites, after, NOW)
    assert [(d.record.call_id, d.target) for d in decisions] == expected


def test_time_is_injected_not_read() -> None:
    records, sites = [call("a", waited_s=0)], [NORTH_BUSY, SOUTH]
    assert select_overflow(records, sites, AFTER, NOW + 59) == []
    assert select_overflow(records, sites, AFTER, NOW + 60) == [Overflow(records[0], "south")]


def test_the_decision_carries_the_record_as_read() -> None:
    """The router's fenced write compares the mod revision of the record it decided on."""
    record = CallRecord("a", "north", "queued", "retail", 1, NOW - 300, mod_revision=42)
    [decision] = select_overflow([record], [NORTH_BUSY, SOUTH], AFTER, NOW)
    assert decision.record is record
