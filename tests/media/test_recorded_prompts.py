"""Recorded prompts: WAV, OGG (Opus) and MP3 files decoded by PyAV, encoded once per codec,
heard by a real WebRTC peer; a flow naming a missing or unreadable file is refused on publish."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from site_node.config import MediaConfig
from site_node.flows.audio import check_flow_audio
from site_node.ivr import InvalidFlow, parse_flow
from site_node.media import MediaSwitch
from site_node.media.codecs import OPUS, PCMU
from site_node.media.errors import PromptError
from site_node.media.recorded import RecordedPrompts, decode_file, resolve
from tests.helpers.audio import tone, write_tone_wav
from tests.media.peers import ClientPeer, dominant, join, rms

TONE_HZ = 1000.0


def write_encoded(path: Path, fmt: str, codec: str, seconds: float = 1.5, rate: int = 48000) -> Path:
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"  # type: ignore[union-attr]
        pcm = tone(TONE_HZ, seconds, rate)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):  # type: ignore[union-attr]
            container.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            container.mux(packet)
    return path


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts"
    folder.mkdir()
    write_tone_wav(folder / "welcome.wav")
    write_encoded(folder / "welcome.ogg", "ogg", "libopus")
    write_encoded(folder / "welcome.mp3", "mp3", "libmp3lame")
    (folder / "broken.wav").write_bytes(b"RIFF....not audio at all")
    return folder


@pytest.mark.parametrize("name", ["welcome.wav", "welcome.ogg", "welcome.mp3"])
def test_every_format_decodes_to_its_tone(prompts: Path, name: str) -> None:
    pcm, rate = decode_file(prompts / name)
    assert 1.3 < len(pcm) / rate < 1.8
    assert abs(dominant(pcm, rate) - TONE_HZ) < 30


async def test_a_file_is_decoded_once_and_encoded_once_per_codec(prompts: Path) -> None:
    recorded = RecordedPrompts(prompts)
    for spec in (OPUS, PCMU, OPUS, PCMU):
        audio = await recorded.get("welcome.ogg", spec)
        assert 1.3 < audio.duration_s < 1.8
    assert recorded.decodes == 2  # once per codec, then cached


def test_names_outside_the_prompts_directory_are_refused(prompts: Path) -> None:
    for name in ("../secret.wav", "/etc/passwd", "sub/../../x.wav"):
        with pytest.raises(PromptError):
            resolve(prompts, name)


def _flow(audio: str) -> dict[str, object]:
    return {
        "id": "recorded", "languages": ["en"], "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "play", "audio": {"en": audio}, "next": "bye"},
            {"id": "bye", "type": "hangup", "reason": "done"},
        ],
    }


@pytest.mark.parametrize(("audio", "problem"), [("missing.wav", "cannot be read"), ("broken.wav", "cannot be read"),
                                               ("../escape.wav", "not inside")])
def test_a_flow_naming_a_bad_file_is_refused_naming_the_node(prompts: Path, audio: str, problem: str) -> None:
    with pytest.raises(InvalidFlow) as info:
        check_flow_audio(parse_flow(_flow(audio)), prompts)
    assert info.value.node_id == "welcome" and problem in str(info.value)


def test_a_flow_with_readable_files_passes(prompts: Path) -> None:
    check_flow_audio(parse_flow(_flow("welcome.mp3")), prompts)


@pytest.fixture
def tone_file(media_config: MediaConfig) -> Path:
    folder = Path(media_config.prompts_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return write_tone_wav(folder / "tone.wav", seconds=2.0)


@pytest.mark.parametrize("codec", ["opus", "PCMU"])
async def test_a_recorded_prompt_is_heard_by_a_real_peer(switch: MediaSwitch, codec: str, tone_file: Path) -> None:
    customer = ClientPeer(None, codec)
    try:
        await join(switch, "c", customer)
        switch.new_call("call-1", "c")
        assert await switch.play_prompt("c", None, "en", audio="tone.wav") is True
        await asyncio.sleep(0.2)
        heard = customer.recent(1.5)
        assert rms(heard) > 500 and abs(dominant(heard, customer.rate) - TONE_HZ) < 40
        # unusable now (deleted after publishing): the prompt's text is spoken instead
        await asyncio.to_thread(tone_file.unlink)
        assert await switch.play_prompt("c", "Welcome.", "en", audio="tone.wav") is True
        assert switch.prompts.renders == 1
    finally:
        await customer.close()


