"""Prompts and music on hold, encoded once per codec and replayed as packets.

Text-to-speech runs ``espeak-ng`` as a subprocess where it is installed; otherwise a
synthesized "tone speech" (one voiced burst per syllable-sized chunk of text) stands in, so a
node without espeak still plays something of the right length. Rendered audio is resampled to
the codec's rate and encoded once; :class:`PromptCache` keys the packets by
(text, language, codec). Music on hold is a soft chord loop generated with numpy at start-up.
"""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import tempfile
import wave
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from site_node.media.codecs import CodecSpec, Pcm, encode_buffer
from site_node.media.errors import PromptError

logger = logging.getLogger(__name__)

FALLBACK_RATE = 16_000
MUSIC_RATE = 48_000
# C major - A minor - F major - G major, below and around middle C (no 440/660/880 Hz).
MUSIC_CHORDS: tuple[tuple[float, ...], ...] = (
    (261.63, 329.63, 392.00),
    (220.00, 261.63, 329.63),
    (174.61, 220.00, 261.63),
    (196.00, 246.94, 293.66),
)
MUSIC_NOTES = frozenset(f for chord in MUSIC_CHORDS for f in chord)


@dataclass(frozen=True, slots=True)
class EncodedAudio:
    spec: CodecSpec
    packets: tuple[bytes, ...]

    @property
    def duration_s(self) -> float:
        return len(self.packets) * 0.02


def synthesize_music(seconds_per_chord: float = 2.0, rate: int = MUSIC_RATE) -> Pcm:
    """A gentle loop: each chord swells in and out (soft attack, no clicks at the seams)."""
    n = int(seconds_per_chord * rate)
    t = np.arange(n) / rate
    envelope = np.sin(np.pi * np.arange(n) / n) ** 2
    parts = []
    for chord in MUSIC_CHORDS:
        tone = sum(np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t) for f in chord)
        parts.append(tone * envelope)
    audio = np.concatenate(parts)
    audio = 0.25 * audio / np.max(np.abs(audio))
    return (audio * 32767).astype(np.int16)


def synthesize_speech(text: str, rate: int = FALLBACK_RATE) -> Pcm:
    """Fallback "tone speech": one voiced, vowel-like burst per three characters."""
    syllables = max(1, len(text.strip()) // 3)
    out: list[Pcm] = [np.zeros(int(0.1 * rate), np.int16)]
    for i in range(syllables):
        n = int(0.16 * rate)
        t = np.arange(n) / rate
        f0 = 120 + 30 * np.sin(i * 1.7) + 20 * (1 - t / t[-1])
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voice = sum((1.0 / k) * np.sin(k * phase) for k in range(1, 8))
        env = np.sin(np.pi * np.arange(n) / n)
        out.append((0.3 * 32767 * voice * env / 2.6).astype(np.int16))
        out.append(np.zeros(int(0.05 * rate), np.int16))
    return np.concatenate(out)


async def render_speech(text: str, language: str, *, timeout_s: float = 10.0) -> tuple[Pcm, int]:
    """Mono int16 PCM and its rate: espeak-ng if installed, the fallback otherwise.

    A prompt never fails a call: espeak-ng is tried twice, then the fallback speaks."""
    if shutil.which("espeak-ng") is None:
        return synthesize_speech(text), FALLBACK_RATE
    for attempt in (1, 2):
        try:
            return await _espeak(text, language, timeout_s)
        except PromptError as exc:
            logger.warning("espeak-ng attempt %d for a %s prompt failed: %s", attempt, language, exc)
    return synthesize_speech(text), FALLBACK_RATE


async def _espeak(text: str, language: str, timeout_s: float) -> tuple[Pcm, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "prompt.wav"
        proc = await asyncio.create_subprocess_exec(
            "espeak-ng", "-v", language, "-w", str(out), "--", text,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(timeout_s):
                _, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise PromptError(f"espeak-ng took longer than {timeout_s} s") from None
        if proc.returncode != 0 or not out.exists():
            raise PromptError(f"espeak-ng failed: {err.decode(errors='replace').strip()}")
        data = out.read_bytes()
    with wave.open(io.BytesIO(data)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.int16)
        if wav.getnchannels() > 1:
            pcm = pcm.reshape(-1, wav.getnchannels())[:, 0].copy()
    return pcm, rate


class PromptCache:
    """(text, language, codec) -> packets; each prompt is rendered and encoded once."""

    def __init__(self, *, max_entries: int = 512) -> None:
        self._max_entries = max_entries
        self._encoded: OrderedDict[tuple[str, str, str], EncodedAudio] = OrderedDict()
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self.renders = 0
        self.encodes = 0
        self.hits = 0

    async def get(self, text: str, language: str, spec: CodecSpec) -> EncodedAudio:
        key = (text, language, spec.name)
        cached = self._encoded.get(key)
        if cached is not None:
            self.hits += 1
            self._encoded.move_to_end(key)
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._encoded.get(key)
            if cached is not None:
                self.hits += 1
                return cached
            pcm, rate = await render_speech(text, language)
            self.renders += 1
            packets = await asyncio.to_thread(encode_buffer, pcm, rate, spec)
            self.encodes += 1
            audio = EncodedAudio(spec, tuple(packets))
            self._encoded[key] = audio
            while len(self._encoded) > self._max_entries:
                self._encoded.popitem(last=False)
        self._locks.pop(key, None)
        return audio


class MusicLibrary:
    """Music on hold, encoded once per codec on first use."""

    def __init__(self, pcm: Pcm | None = None, rate: int = MUSIC_RATE) -> None:
        self._pcm = synthesize_music() if pcm is None else pcm
        self._rate = rate
        self._encoded: dict[str, EncodedAudio] = {}

    def get(self, spec: CodecSpec) -> EncodedAudio:
        audio = self._encoded.get(spec.name)
        if audio is None:
            packets = encode_buffer(self._pcm, self._rate, spec)
            audio = self._encoded[spec.name] = EncodedAudio(spec, tuple(packets))
        return audio
