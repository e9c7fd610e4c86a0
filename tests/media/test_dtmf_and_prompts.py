"""Digits as in-band tones (Goertzel) and over the data channel; prompts encoded once."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from site_node.media import DtmfDetector, MediaSwitch
from site_node.media.codecs import OPUS
from tests.media.peers import ClientPeer, dominant, dtmf_samples, emitted_until, join, rms


@pytest.mark.parametrize("codec", ["opus", "PCMU"])
async def test_inband_digits_detected_exactly(switch: MediaSwitch, codec: str) -> None:
    customer = ClientPeer(None, codec)
    try:
        leg = await join(switch, "c", customer)
        assert leg.decoding is False
        collecting = asyncio.create_task(switch.collect_digits("c", max_digits=10, timeout_s=20, terminators=""))
        await asyncio.sleep(0.1)
        assert leg.decoding is True  # decoding only while collecting
        customer.track.play(dtmf_samples("159#0*D4"))
        customer.track.play(dtmf_samples("11", off_s=0.08))
        result = await collecting
        assert (result.digits, result.ended_by) == ("159#0*D411", "max_digits")
        assert leg.decoding is False
    finally:
        await customer.close()


async def test_terminator_and_datachannel_digits(switch: MediaSwitch) -> None:
    customer = ClientPeer()
    try:
        await join(switch, "c", customer)
        async with asyncio.timeout(5):
            await emitted_until(customer.channel, "open", lambda: customer.channel.readyState == "open")
        collecting = asyncio.create_task(switch.collect_digits("c", max_digits=8, timeout_s=20))
        await asyncio.sleep(0.1)
        for digit in "4711#":
            customer.channel.send(digit)
        result = await collecting
        assert (result.digits, result.ended_by) == ("4711", "terminator")
        timed_out = await switch.collect_digits("c", max_digits=4, timeout_s=0.2)
        assert (timed_out.digits, timed_out.ended_by) == ("", "timeout")
    finally:
        await customer.close()


def test_detector_rejects_speech_like_and_single_tones() -> None:
    found: list[str] = []
    detector = DtmfDetector(found.append)
    rng = np.random.default_rng(7)
    detector.push((rng.standard_normal(48_000) * 4000).astype(np.int16))
    t = np.arange(48_000) / 48_000
    detector.push((8000 * np.sin(2 * np.pi * 770 * t)).astype(np.int16))  # a row tone alone
    twisted = 8000 * np.sin(2 * np.pi * 770 * t) + 800 * np.sin(2 * np.pi * 1336 * t)
    detector.push(twisted.astype(np.int16))  # 20 dB twist
    assert found == []


async def test_prompt_encoded_once_and_heard(switch: MediaSwitch) -> None:
    customer = ClientPeer()
    try:
        await join(switch, "c", customer)
        switch.new_call("call-1", "c")
        text = "All agents are busy, please hold."
        assert await switch.play_prompt("c", text) is True
        await asyncio.sleep(0.3)
        heard = customer.recent(3.0)
        assert rms(heard) > 200
        assert 80 < dominant(heard, customer.rate) < 4000  # voice band
        assert await switch.play_prompt("c", text) is True
        assert (switch.prompts.renders, switch.prompts.encodes, switch.prompts.hits) == (1, 1, 1)
        audio = await switch.prompts.get(text, "en", OPUS)
        assert audio.duration_s > 0.5
    finally:
        await customer.close()
