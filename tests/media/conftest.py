from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from site_node.config import MediaConfig
from site_node.media import MediaSwitch
from site_node.recordings.sealed import AudioKeys

AUDIO_KEYS = AudioKeys("test-recording-key-" + "k" * 32)  # recordings are sealed; tests open them with it


@pytest.fixture
def media_config(tmp_path: Path) -> MediaConfig:
    return MediaConfig(recordings_dir=str(tmp_path / "recordings"), prompts_dir=str(tmp_path / "prompts"))


@pytest.fixture
async def switch(media_config: MediaConfig) -> AsyncIterator[MediaSwitch]:
    sw = MediaSwitch(media_config, audio_keys=AUDIO_KEYS)
    await sw.start()
    try:
        yield sw
    finally:
        await sw.stop()


@pytest.fixture
async def transcoding_switch(media_config: MediaConfig) -> AsyncIterator[MediaSwitch]:
    sw = MediaSwitch(media_config, audio_keys=AUDIO_KEYS, force_transcode=True)
    await sw.start()
    try:
        yield sw
    finally:
        await sw.stop()
