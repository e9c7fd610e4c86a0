"""Recording: customer left, agent right; silence while sensitive digits are collected."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import numpy as np

from site_node.media import MediaSwitch
from site_node.media.dtmf import COLS, ROWS
from site_node.recordings.sealed import read_sealed
from tests.media.conftest import AUDIO_KEYS
from tests.media.peers import ClientPeer, band_share, dtmf_samples, hears, join


def longest_silence(x: np.ndarray) -> int:
    best = run = 0
    for silent in x == 0:
        run = run + 1 if silent else 0
        best = max(best, run)
    return best


async def test_recording_holds_both_parties_and_silence_during_pin(switch: MediaSwitch) -> None:
    customer, agent = ClientPeer(440), ClientPeer(660, "PCMU")
    try:
        await join(switch, "c", customer)
        await join(switch, "a", agent)
        call = switch.new_call("call-rec", "c")
        call.connect_agent("a")
        assert await hears(agent, 440)
        call.start_recording()
        await asyncio.sleep(1.0)
        call.hold()  # the runtime parks the agent while the IVR takes the PIN
        customer.track.freq = None
        collecting = asyncio.create_task(switch.collect_digits("c", max_digits=4, timeout_s=20, sensitive=True))
        await asyncio.sleep(0.1)
        customer.track.play(dtmf_samples("2468"))
        assert (await collecting).digits == "2468"
        call.resume()
        customer.track.freq = 440
        await asyncio.sleep(1.0)
        info = call.end()
    finally:
        await customer.close()
        await agent.close()

    assert info is not None and info.channels == 2
    assert info.paused_s >= 0.6 and info.duration_s >= info.paused_s + 1.5
    with open(info.path, "rb") as sealed:  # noqa: ASYNC230
        assert sealed.read(4) != b"RIFF"  # sealed on disk, not a WAV
    with wave.open(io.BytesIO(read_sealed(Path(info.path), AUDIO_KEYS).wav())) as wav:
        rate = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert Path(info.path).parent == Path(switch.config.recordings_dir)
    left, right = data[:, 0], data[:, 1]
    start = int(0.3 * rate)
    first = slice(start, start + int(0.6 * rate))
    assert band_share(left[first], rate, 440) > 0.8
    assert band_share(right[first], rate, 660) > 0.8
    # the paused stretch is digital silence on both channels, and no digit tone is recorded
    assert longest_silence(left | right) >= int(0.9 * info.paused_s * rate)
    for freq in ROWS + COLS:
        assert band_share(left, rate, freq) < 0.01
