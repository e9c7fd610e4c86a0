"""Egress trunk configuration and the dial-plan / caller-ID decision (pure logic)."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.config import load_settings
from cluster.errors import ConfigError
from site_node.sip.config import SipSettings
from site_node.sip.trunk import NoTrunk, OutsideDialPlan, TrunkConfig, outbound_target

TRUNK: dict[str, Any] = {
    "gateway": "127.0.0.1:5090",
    "dial_plan": [r"0[1-9][0-9]{8,10}", r"\+86[0-9]{11}"],
    "caller_id": {"support": "95588", "cards": "95599"},
}


def _trunk() -> TrunkConfig:
    settings = load_settings(None, overrides={"sip": {"trunk": TRUNK}}, model=SipSettings)
    assert settings.sip.trunk is not None
    return settings.sip.trunk


def test_a_number_in_the_dial_plan_goes_to_the_gateway_with_the_queue_caller_id() -> None:
    target = outbound_target(_trunk(), "02155556666", "cards")
    assert (target.number, target.caller_id, target.gateway) == ("02155556666", "95599", ("127.0.0.1", 5090))
    assert outbound_target(_trunk(), "+8613800138000", None).caller_id == "anonymous"
    assert outbound_target(_trunk(), "02155556666", "unknown-queue").caller_id == "anonymous"


@pytest.mark.parametrize("number", ["95588", "112", "0215555666677788", "021-5555", "", "00" + "9" * 40])
def test_numbers_outside_the_dial_plan_are_refused_with_a_stable_id(number: str) -> None:
    with pytest.raises(OutsideDialPlan) as caught:
        outbound_target(_trunk(), number, "support")
    assert caught.value.error_id == "sip.outside_dial_plan" and caught.value.status == 403
    assert len(caught.value.message) < 120


def test_an_edge_without_a_trunk_refuses_egress() -> None:
    assert load_settings(None, model=SipSettings).sip.trunk is None
    with pytest.raises(NoTrunk) as caught:
        outbound_target(None, "02155556666", "support")
    assert caught.value.error_id == "sip.no_trunk"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"gateway": "carrier.example"}, "sip.trunk.gateway"),
        ({"gateway": "127.0.0.1:99999"}, "sip.trunk.gateway"),
        ({"dial_plan": ["0[1-9"]}, "sip.trunk.dial_plan"),
        ({"dial_plan": []}, "sip.trunk.dial_plan"),
        ({"caller_id": {"support": "not-a-number"}}, "sip.trunk"),
        ({"ring_timeout_s": 0}, "sip.trunk.ring_timeout_s"),
        ({"gatway": "127.0.0.1:5060"}, "sip.trunk.gatway"),
    ],
)
def test_a_bad_trunk_fails_the_start_naming_the_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, overrides={"sip": {"trunk": {**TRUNK, **change}}}, model=SipSettings)
    assert f"'{key}" in str(caught.value)
