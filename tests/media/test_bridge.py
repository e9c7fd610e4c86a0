"""Customer <-> agent audio through the switch, checked by frequency analysis."""

from __future__ import annotations

import pytest

from site_node.media import MediaSwitch
from tests.media.peers import ClientPeer, hears, join


@pytest.mark.parametrize("codec", ["opus", "PCMU"])
async def test_forwarding_bridge_carries_each_direction(switch: MediaSwitch, codec: str) -> None:
    customer, agent = ClientPeer(440, codec), ClientPeer(660, codec)
    try:
        c_leg = await join(switch, "c", customer)
        a_leg = await join(switch, "a", agent)
        assert c_leg.spec.name == a_leg.spec.name == codec
        call = switch.new_call("call-1", "c")
        call.connect_agent("a")
        assert await hears(agent, 440)
        assert await hears(customer, 660)
        # zero transcode: nothing was decoded on the switch
        assert c_leg.frames_decoded == 0 and a_leg.frames_decoded == 0
        assert c_leg.frames_in > 0 and a_leg.port.sent > 0
    finally:
        await customer.close()
        await agent.close()


async def test_decode_path_bridge(transcoding_switch: MediaSwitch) -> None:
    customer, agent = ClientPeer(440), ClientPeer(660, "PCMU")
    try:
        c_leg = await join(transcoding_switch, "c", customer)
        await join(transcoding_switch, "a", agent)
        call = transcoding_switch.new_call("call-1", "c")
        call.connect_agent("a")
        assert await hears(agent, 440)
        assert await hears(customer, 660)
        assert c_leg.frames_decoded > 0
    finally:
        await customer.close()
        await agent.close()
