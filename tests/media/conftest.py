from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from site_node.config import MediaConfig
from site_node.media import MediaSwitch


@pytest.fixture
def media_config(tmp_path: Path) -> MediaConfig:
    return MediaConfig(recordings_dir=str(tmp_path / "recordings"), prompts_dir=str(tmp_path / "prompts"))


@pytest.fixture
async def switch(media_config: MediaConfig) -> AsyncIterator[MediaSwitch]:
    sw = MediaSwitch(media_config)
    await sw.start()
    try:
        yield sw
    finally:
        await sw.stop()


@pytest.fixture
async def transcoding_switch(media_config: MediaConfig) -> AsyncIterator[MediaSwitch]:
    sw = MediaSwitch(media_config, force_transcode=True)
    await sw.start()
    try:
        yield sw
    finally:
        await sw.stop()
