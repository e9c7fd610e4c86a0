"""A reloaded desktop re-offers: its new softphone leg takes the old one's place in the call."""

from __future__ import annotations

import pytest

from site_node.media import topology as topo
from site_node.media.errors import BadTopology
from site_node.media.topology import CallMediaState, Mode


def test_the_agent_leg_is_swapped_in_every_mode() -> None:
    talking = topo.connect_agent(CallMediaState(customer="c"), "a1")
    for state in (talking, topo.hold(talking)):
        swapped = topo.replace_leg(state, "a1", "a2")
        assert (swapped.agent, swapped.mode) == ("a2", state.mode)
        assert topo.plan(swapped).get("a1") is None
    bridged = topo.replace_leg(talking, "a1", "a2")
    assert topo.plan(bridged) == {"c": frozenset({"a2"}), "a2": frozenset({"c"})}


def test_the_consulted_leg_is_swapped_too() -> None:
    consult = topo.consult(topo.connect_agent(CallMediaState(customer="c"), "a1"), "b1")
    swapped = topo.replace_leg(consult, "b1", "b2")
    assert (swapped.agent, swapped.consulted, swapped.mode) == ("a1", "b2", Mode.CONSULT)


def test_a_leg_that_is_not_a_party_is_refused() -> None:
    talking = topo.connect_agent(CallMediaState(customer="c"), "a1")
    with pytest.raises(BadTopology):
        topo.replace_leg(talking, "zz", "a2")
    with pytest.raises(BadTopology):
        topo.replace_leg(talking, "a1", "c")
