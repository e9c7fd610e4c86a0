"""NullLeg: a media-less participant; prompts play to the end, music and bridged audio drain."""

from __future__ import annotations

import asyncio
import time

from site_node.media import MediaSwitch
from site_node.media.codecs import OPUS
from site_node.media.null_leg import NullLeg
from tests.media.peers import ClientPeer, join


async def test_prompt_plays_in_real_time_and_is_discarded(switch: MediaSwitch) -> None:
    leg = NullLeg("c", OPUS, switch.ticker)
    switch.add_leg(leg)
    audio = await switch.prompts.get("Welcome to the test.", "en", OPUS)
    started = time.monotonic()
    assert await switch.play_prompt("c", "Welcome to the test.") is True
    elapsed = time.monotonic() - started
    expected = len(audio.packets) * 0.02
    assert expected * 0.8 <= elapsed <= expected + 1.0  # paced by the ticker, not instantly
    assert leg.frames_discarded >= len(audio.packets) - 1
    assert leg.port.dropped == 0  # drained every tick: no standing queue
    assert leg.frames_in == 0 and leg.decoding is False


async def test_digits_by_signalling_reach_the_collector(switch: MediaSwitch) -> None:
    leg = NullLeg("c", OPUS, switch.ticker)
    switch.add_leg(leg)
    collecting = asyncio.ensure_future(switch.collect_digits("c", max_digits=4, timeout_s=5))
    await asyncio.sleep(0.05)
    leg.deliver_digit("12#", "signalling")
    result = await collecting
    assert (result.digits, result.ended_by) == ("12", "terminator")


async def test_queue_music_and_agent_audio_drain_then_close(switch: MediaSwitch) -> None:
    leg = NullLeg("c", OPUS, switch.ticker)
    switch.add_leg(leg)
    call = switch.new_call("call-1", "c")
    call.to_ivr(queue_music=True)
    await asyncio.sleep(0.3)
    assert leg.frames_discarded >= 5
    agent = ClientPeer(440.0)
    try:
        await join(switch, "a", agent)
        call.connect_agent("a")
        before = leg.frames_discarded
        await asyncio.sleep(0.5)
        assert leg.frames_discarded - before >= 10  # the agent's voice, forwarded then dropped
        assert leg.port.dropped == 0
        call.end()
        await switch.close_leg("c")
        assert leg.ended.done() and leg.ended.result() == "hangup"
        ticks = leg.frames_discarded
        await asyncio.sleep(0.1)
        assert leg.frames_discarded == ticks  # off the ticker
    finally:
        await agent.close()
