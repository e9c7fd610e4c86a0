"""Central's console view merges the sites' snapshots: every site's agents and queues, in a
stable order, an agent caught at two sites during a failover shown once, silent sites named."""

from __future__ import annotations

from typing import Any

from central.supervision import merge_snapshots


def _agent(agent_id: str, team: str | None, state: str, in_state_s: float | None, **more: Any) -> dict[str, Any]:
    return {"agent_id": agent_id, "team": team, "state": state, "in_state_s": in_state_s, **more}


def test_every_site_is_on_one_page_in_a_stable_order() -> None:
    north = {
        "site": "north",
        "agents": [_agent("n-2", "a", "ready", 3.0, site="north"), _agent("n-1", "b", "ready", 1.0)],
        "queues": {"cards": {"waiting": 2, "longest_wait_s": 9.0}},
    }
    south = {"site": "south", "agents": [_agent("s-1", "a", "on_call", 5.0)], "queues": {"cards": {"waiting": 0}}}
    view = merge_snapshots({"south": south, "north": north}, now=100.0, unavailable=["west"])
    assert [(a["site"], a["agent_id"]) for a in view["agents"]] == [
        ("north", "n-2"),
        ("north", "n-1"),
        ("south", "s-1"),
    ]
    assert view["queues"] == {
        "north/cards": {"waiting": 2, "longest_wait_s": 9.0, "site": "north", "queue": "cards"},
        "south/cards": {"waiting": 0, "site": "south", "queue": "cards"},
    }
    assert (view["sites"], view["unavailable"], view["at"], view["site"]) == (["north", "south"], ["west"], 100.0, None)


def test_an_agent_moving_between_sites_is_shown_once_where_they_are_now() -> None:
    old = {"agents": [_agent("n-4", "a", "on_call", 40.0, call={"call_id": "c1"})], "queues": {}}
    new = {"agents": [_agent("n-4", "a", "on_call", 0.5, call={"call_id": "c1"})], "queues": {}}
    gone = {"agents": [_agent("n-4", "a", "logged_out", 0.1)], "queues": {}}
    assert [a["site"] for a in merge_snapshots({"north": old, "south": new}, now=0, unavailable=[])["agents"]] == [
        "south"
    ]
    assert [a["site"] for a in merge_snapshots({"north": new, "south": old}, now=0, unavailable=[])["agents"]] == [
        "north"
    ]
    assert [a["site"] for a in merge_snapshots({"north": gone, "south": old}, now=0, unavailable=[])["agents"]] == [
        "south"
    ]


def test_no_site_answering_gives_an_empty_view_naming_them() -> None:
    view = merge_snapshots({}, now=1.0, unavailable=["south", "north"])
    assert (view["agents"], view["queues"], view["unavailable"]) == ([], {}, ["north", "south"])
