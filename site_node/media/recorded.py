"""Recorded prompts: audio files (WAV, OGG, MP3, ... anything PyAV decodes) played in the IVR.

Files live in the site's prompts directory (``site.media.prompts_dir``) and a flow names them
relative to it (``audio: {en: welcome_en.wav}``); a name that leaves the directory is refused.
A file is decoded once (mono, 16 bit, resampled by PyAV), then encoded once per codec and
cached like text prompts. A flow whose file is missing or unreadable is refused when it is
published (:func:`site_node.flows.audio.check_flow_audio`), so a live call never finds out.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from pathlib import Path

import av
import numpy as np

from site_node.media.codecs import CodecSpec, Pcm, encode_buffer
from site_node.media.errors import PromptError
from site_node.media.prompts import EncodedAudio

DECODE_RATE = 48_000
MAX_SECONDS = 600.0


def resolve(prompts_dir: Path, name: str) -> Path:
    """The file ``name`` inside ``prompts_dir``; a path that leaves it is refused."""
    base = prompts_dir.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or Path(name).is_absolute():
        raise PromptError(f"audio {name!r} is not inside the prompts directory")
    return path


def decode_file(path: Path) -> tuple[Pcm, int]:
    """Mono int16 PCM of an audio file and its rate; PromptError if it cannot be read."""
    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise PromptError(f"{path.name} has no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=DECODE_RATE)
            chunks: list[np.ndarray] = []
            for frame in container.decode(stream):
                assert isinstance(frame, av.AudioFrame)
                chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
                if sum(len(c) for c in chunks) > MAX_SECONDS * DECODE_RATE:
                    raise PromptError(f"{path.name} is longer than {MAX_SECONDS:.0f} s")
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except (OSError, av.FFmpegError) as exc:
        raise PromptError(f"{path.name} cannot be read: {exc}") from exc
    if not chunks or not sum(len(c) for c in chunks):
        raise PromptError(f"{path.name} holds no audio")
    return np.concatenate(chunks).astype(np.int16), DECODE_RATE


class RecordedPrompts:
    """(file, its modification time, codec) -> packets: each file decoded and encoded once."""

    def __init__(self, prompts_dir: Path, *, max_entries: int = 256) -> None:
        self.prompts_dir = prompts_dir
        self._max_entries = max_entries
        self._encoded: OrderedDict[tuple[str, float, str], EncodedAudio] = OrderedDict()
        self.decodes = 0

    async def get(self, name: str, spec: CodecSpec) -> EncodedAudio:
        path = resolve(self.prompts_dir, name)
        try:
            key = (str(path), path.stat().st_mtime, spec.name)
        except OSError as exc:
            raise PromptError(f"{name} cannot be read: {exc}") from exc
        cached = self._encoded.get(key)
        if cached is not None:
            self._encoded.move_to_end(key)
            return cached
        pcm, rate = await asyncio.to_thread(decode_file, path)
        self.decodes += 1
        packets = await asyncio.to_thread(encode_buffer, pcm, rate, spec)
        audio = self._encoded[key] = EncodedAudio(spec, tuple(packets))
        while len(self._encoded) > self._max_entries:
            self._encoded.popitem(last=False)
        return audio
