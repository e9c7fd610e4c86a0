"""Site selection is a pure function: table-driven tests."""

from __future__ import annotations

import pytest

from central.routing.classify import Classifier
from central.routing.selection import NoSiteAvailable, SiteSnapshot, SkillLoad, select_site


def site(
    name: str, healthy: bool = True, draining: bool = False, **skills: tuple[int, int, int, float]
) -> SiteSnapshot:
    return SiteSnapshot(
        name=name,
        healthy=healthy,
        draining=draining,
        skills={k: SkillLoad(staffed=v[0], ready=v[1], waiting=v[2], expected_wait_s=v[3]) for k, v in skills.items()},
    )


NORTH = site("north", retail=(5, 2, 0, 0.0), loans=(2, 0, 4, 120.0))
SOUTH = site("south", retail=(5, 0, 3, 40.0), loans=(3, 1, 0, 0.0))
EAST = site("east", retail=(5, 1, 0, 0.0))
DRAINING = site("west", draining=True, retail=(9, 9, 0, 0.0))
SICK = site("sick", healthy=False, retail=(9, 9, 0, 0.0))
UNSTAFFED = site("empty", vip=(0, 0, 0, 0.0))

CASES = [
    # (sites, skill, strategy, home, exclude, expected site, expected reason)
    ([NORTH, SOUTH, EAST], "retail", "least_wait", None, (), "north", "least_wait"),
    ([NORTH, SOUTH, EAST], "loans", "least_wait", None, (), "south", "least_wait"),
    ([NORTH, SOUTH, EAST], "retail", "most_ready", None, (), "north", "most_ready"),
    ([NORTH, SOUTH, EAST], "retail", "least_wait", None, ("north",), "east", "least_wait"),
    ([NORTH, SOUTH, EAST], "retail", "home_branch", "east", (), "east", "home_branch"),
    ([NORTH, SOUTH, EAST], "retail", "home_branch", "south", (), "north", "least_wait"),  # 40 s > 30 s slack
    ([NORTH, SOUTH, EAST], "loans", "home_branch", "north", (), "south", "least_wait"),  # home too slow
    ([DRAINING, SICK, EAST], "retail", "least_wait", None, (), "east", "least_wait"),
    ([UNSTAFFED], "vip", "least_wait", None, (), "empty", "unstaffed_fallback"),
    ([NORTH, SOUTH, EAST], "retail", "home_branch", "nowhere", (), "north", "least_wait"),
]


@pytest.mark.parametrize(("sites", "skill", "strategy", "home", "exclude", "expected", "reason"), CASES)
def test_select_site(sites, skill, strategy, home, exclude, expected, reason) -> None:  # type: ignore[no-untyped-def]
    choice = select_site(sites, skill, strategy=strategy, home_site=home, exclude=exclude)
    assert (choice.site, choice.reason) == (expected, reason)


@pytest.mark.parametrize(
    ("sites", "skill", "exclude"),
    [([], "retail", ()), ([NORTH], "vip", ()), ([DRAINING, SICK], "retail", ()), ([EAST], "retail", ("east",))],
)
def test_no_site(sites, skill, exclude) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NoSiteAvailable) as caught:
        select_site(sites, skill, exclude=exclude)
    assert caught.value.error_id == "route.no_site"


def test_ties_are_broken_deterministically() -> None:
    a, b = site("a", retail=(1, 1, 0, 0.0)), site("b", retail=(1, 1, 0, 0.0))
    assert select_site([b, a], "retail").site == "a"
    assert select_site([a, b], "retail").site == "a"


def test_snapshot_from_membership_info() -> None:
    snap = SiteSnapshot.from_membership(
        "north", {"url": "http://n", "ws_url": "ws://n/ws", "skills": {"retail": {"staffed": 2, "ready": 1}}}
    )
    assert snap.skills["retail"].ready == 1 and snap.ws_url == "ws://n/ws"


def test_classifier_by_dialled_number_and_segment() -> None:
    table = Classifier.load()
    assert (table.classify("8001").skill, table.classify("8001").priority) == ("credit_card", 1)
    assert table.classify("12345").skill == "retail"  # default service
    vip = table.classify("8000", segment="vip")
    assert (vip.skill, vip.priority) == ("vip", 4)
