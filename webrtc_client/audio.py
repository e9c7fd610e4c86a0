"""Audio for the Python client: a paced send track (tone, DTMF, silence), a receiver that keeps
the last seconds heard, and frequency analysis to tell what was heard."""

from __future__ import annotations

import asyncio
import fractions
from collections import deque
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

RATE = 48_000
FRAME = 960  # 20 ms
ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")
Samples = npt.NDArray[np.int16]


def dtmf_samples(digits: str, on_s: float = 0.1, off_s: float = 0.1, amp: float = 0.3) -> Samples:
    """In-band DTMF tones for ``digits`` (100 ms on, 100 ms off by default)."""
    parts: list[npt.NDArray[np.float64]] = []
    for digit in digits.upper():
        row = next(i for i, keys in enumerate(KEYS) if digit in keys)
        col = KEYS[row].index(digit)
        t = np.arange(int(RATE * on_s)) / RATE
        tone = np.sin(2 * np.pi * ROWS[row] * t) + np.sin(2 * np.pi * COLS[col] * t)
        parts += [amp * 32767 * tone / 2, np.zeros(int(RATE * off_s))]
    return np.concatenate(parts).astype(np.int16)


class SignalTrack(MediaStreamTrack):
    """Paced 20 ms frames: queued samples (DTMF) first, else a steady tone, else silence."""

    kind = "audio"

    def __init__(self, freq: float | None = None, amp: float = 0.3) -> None:
        super().__init__()
        self.freq = freq
        self.amp = amp
        self._pending: Samples = np.zeros(0, np.int16)
        self._n = 0
        self._start: float | None = None

    def play(self, samples: Samples) -> None:
        self._pending = np.concatenate([self._pending, samples.astype(np.int16)])

    @property
    def busy(self) -> bool:
        return len(self._pending) > 0

    async def recv(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._n * FRAME / RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if len(self._pending):
            chunk = self._pending[:FRAME]
            self._pending = self._pending[FRAME:]
            data = np.zeros(FRAME, np.int16)
            data[: len(chunk)] = chunk
        elif self.freq:
            t = (self._n * FRAME + np.arange(FRAME)) / RATE
            data = (self.amp * 32767 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)
        else:
            data = np.zeros(FRAME, np.int16)
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._n * FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        self._n += 1
        return frame


class Receiver:
    """Consumes a received track and keeps the last ``keep_s`` seconds of it."""

    def __init__(self, keep_s: float = 6.0) -> None:
        self._audio: deque[Samples] = deque(maxlen=int(keep_s * 50))
        self.rate = RATE
        self.frames = 0
        self._task: asyncio.Task[None] | None = None

    def attach(self, track: MediaStreamTrack) -> None:
        """Listen to ``track`` from now on; what an earlier track brought is forgotten (after
        a re-attach, only what the new connection carries counts)."""
        if self._task is not None:
            self._task.cancel()
        self._audio.clear()
        self._task = asyncio.get_running_loop().create_task(self._consume(track), name="receiver")

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame: Any = await track.recv()
                data = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
                self.rate = frame.sample_rate
                self._audio.append(data.astype(np.int16))
                self.frames += 1
        except MediaStreamError:
            return

    def recent(self, seconds: float) -> Samples:
        frames = list(self._audio)
        if not frames:
            return np.zeros(0, np.int16)
        return np.concatenate(frames)[-int(seconds * self.rate) :]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def spectrum(x: Samples, rate: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    y = x.astype(np.float64)
    power = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    return np.fft.rfftfreq(len(y), 1 / rate).astype(np.float64), power.astype(np.float64)


def band_share(x: Samples, rate: int, freq: float, width: float = 25.0) -> float:
    """Share of the signal's power (above 100 Hz) within ``freq`` +/- ``width`` Hz."""
    freqs, power = spectrum(x, rate)
    total = float(power[freqs >= 100].sum()) or 1.0
    return float(power[np.abs(freqs - freq) <= width].sum()) / total


def rms(x: Samples) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


async def hears(receiver: Receiver, freq: float, *, timeout: float = 8.0, share: float = 0.5) -> bool:
    """Wait until ``freq`` dominates the last 300 ms received."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        x = receiver.recent(0.3)
        if len(x) >= int(0.27 * receiver.rate) and rms(x) > 300 and band_share(x, receiver.rate, freq) >= share:
            return True
        await asyncio.sleep(0.05)
    return False


async def hears_sound(receiver: Receiver, *, timeout: float = 8.0, level: float = 300.0) -> bool:
    """Wait until anything audible (a prompt, music) arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if rms(receiver.recent(0.3)) > level:
            return True
        await asyncio.sleep(0.05)
    return False
