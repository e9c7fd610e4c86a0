"""ACD changes an administrator makes without a restart: skills and queue settings (pure)."""

from __future__ import annotations

import pytest

from site_node.acd import Acd, AcdConfigInvalid, OfferCall, QueueConfig, UnknownQueue

T0 = 1_700_000_000.0


def offered(decisions: list) -> list[tuple[str, str]]:
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, OfferCall)]


def test_a_skill_change_applies_to_the_next_offer_and_keeps_idle_order() -> None:
    acd = Acd([QueueConfig("cards", "cards"), QueueConfig("loans", "loans", min_level=5)])
    acd.add_agent("a1", {"cards": 5})
    acd.add_agent("a2", {"loans": 6})
    acd.on_agent_ready("a1", T0)
    acd.on_agent_ready("a2", T0 + 5)
    assert acd.set_skills("a1", {"loans": 3}, T0 + 6) == []  # below the queue's level 5
    assert acd.staffed("cards") == 0
    assert offered(acd.on_call_arrival("c1", "cards", T0 + 7)) == []  # a1 no longer takes cards
    assert offered(acd.set_skills("a1", {"loans": 9, "cards": 2}, T0 + 8)) == [("c1", "a1")]  # the waiting call
    acd.release("a1")
    acd.on_agent_ready("a1", T0 + 9)
    assert offered(acd.on_call_arrival("c2", "loans", T0 + 10)) == [("c2", "a1")]  # level 9 beats a2's 6


def test_a_skill_change_of_an_agent_not_ready_waits_for_ready() -> None:
    acd = Acd([QueueConfig("cards", "cards")])
    acd.add_agent("a1", {"cards": 5})
    acd.on_call_arrival("c1", "cards", T0)
    assert acd.set_skills("a1", {"cards": 6}, T0 + 1) == []
    assert offered(acd.on_agent_ready("a1", T0 + 2)) == [("c1", "a1")]
    with pytest.raises(AcdConfigInvalid):
        acd.set_skills("a1", {"cards": 11}, T0 + 3)


def test_a_queue_reconfigured_routes_with_its_new_skill_and_level() -> None:
    acd = Acd([QueueConfig("cards", "cards"), QueueConfig("vip", "cards", min_level=2)])
    acd.add_agent("a1", {"cards": 4, "loans": 8})
    acd.on_agent_ready("a1", T0)
    acd.reconfigure_queue(QueueConfig("vip", "loans", min_level=9, sl_threshold_s=10.0))
    assert offered(acd.on_call_arrival("c1", "vip", T0 + 1)) == []  # level 8 < 9
    acd.remove_call("c1")
    acd.reconfigure_queue(QueueConfig("vip", "loans", min_level=8))
    assert offered(acd.on_call_arrival("c2", "vip", T0 + 2)) == [("c2", "a1")]
    with pytest.raises(AcdConfigInvalid):
        acd.reconfigure_queue(QueueConfig("vip", "loans", min_level=0))
    with pytest.raises(UnknownQueue):
        acd.reconfigure_queue(QueueConfig("nowhere", "loans"))
