"""Audio files for tests: a pure tone as a WAV file (what a recorded prompt would be)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def tone(hz: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (12000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def write_tone_wav(path: Path, hz: float = 1000.0, seconds: float = 1.5, rate: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(tone(hz, seconds, rate).tobytes())
    return path
