"""In-band DTMF detection (Goertzel) and digit collection.

aiortc negotiates no RFC 4733 telephone-events, so digits arrive as tones inside the audio.
The detector runs at 8 kHz on 205-sample blocks (25.6 ms, the classic size) and accepts a
block as a key only if: both tones are loud enough, the strongest row and column beat the
runners-up of their group (relative peak), row/column levels are within the allowed twist,
and the two tones carry most of the block's energy (speech and music fail this). A key is
reported after ``min_on_blocks`` consecutive blocks and must be released for
``min_off_blocks`` before the same key counts again (so "11" needs a gap between the tones).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from site_node.media.codecs import INTERNAL_RATE, Pcm, Resampler
from site_node.media.legs import Leg

ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")


@dataclass(frozen=True, slots=True)
class DtmfParams:
    rate: int = 8000
    block: int = 205
    min_on_blocks: int = 2  # 51 ms >= the 40 ms minimum of ITU-T Q.24
    min_off_blocks: int = 1
    min_level_dbfs: float = -36.0  # per tone, sine peak level
    max_twist_db: float = 8.0
    min_relative_peak_db: float = 8.0
    min_tone_fraction: float = 0.6


class DtmfDetector:
    """A PCM listener that calls ``on_digit`` once per key press."""

    def __init__(
        self,
        on_digit: Callable[[str], None],
        params: DtmfParams | None = None,
        input_rate: int = INTERNAL_RATE,
    ) -> None:
        self.params = p = params or DtmfParams()
        self._on_digit = on_digit
        self._resampler = Resampler(input_rate, p.rate)
        self._buffer = np.zeros(0, np.float64)
        n = np.arange(p.block)
        freqs = np.array(ROWS + COLS)
        self._basis: npt.NDArray[np.complex128] = np.exp(-2j * np.pi * np.outer(freqs, n) / p.rate)
        full_scale = 32768.0 * 10 ** (p.min_level_dbfs / 20)
        self._min_power = full_scale**2 / 2
        self._candidate: str | None = None
        self._run = 0
        self._active: str | None = None
        self._off = 0

    def push(self, pcm: Pcm) -> None:
        data = self._resampler.process(pcm).astype(np.float64)
        buffer = np.concatenate([self._buffer, data])
        block = self.params.block
        count = len(buffer) // block
        for i in range(count):
            self._step(self.classify(buffer[i * block : (i + 1) * block]))
        self._buffer = buffer[count * block :]

    def classify(self, block: npt.NDArray[np.float64]) -> str | None:
        p = self.params
        total = float(np.dot(block, block)) / len(block)
        if total <= 0:
            return None
        power = 2 * np.abs(self._basis @ block) ** 2 / len(block) ** 2
        rows, cols = power[:4], power[4:]
        r, c = int(np.argmax(rows)), int(np.argmax(cols))
        row_p, col_p = float(rows[r]), float(cols[c])
        if row_p < self._min_power or col_p < self._min_power:
            return None
        ratio = 10 ** (p.min_relative_peak_db / 10)
        if row_p < ratio * float(np.max(np.delete(rows, r))):
            return None
        if col_p < ratio * float(np.max(np.delete(cols, c))):
            return None
        if abs(10 * math.log10(row_p / col_p)) > p.max_twist_db:
            return None
        if (row_p + col_p) < p.min_tone_fraction * total:
            return None
        return KEYS[r][c]

    def _step(self, key: str | None) -> None:
        p = self.params
        if key == self._candidate:
            self._run += 1
        else:
            self._candidate, self._run = key, 1
        if self._active is not None:
            if key == self._active:
                self._off = 0
                return
            self._off += 1
            if self._off < p.min_off_blocks:
                return
            self._active = None
        if key is not None and self._run >= p.min_on_blocks:
            self._active, self._off = key, 0
            self._on_digit(key)


Ending = Literal["max_digits", "terminator", "timeout", "ended"]


@dataclass(frozen=True, slots=True)
class CollectedDigits:
    digits: str
    ended_by: Ending


async def collect_digits(
    leg: Leg,
    *,
    max_digits: int,
    timeout_s: float,
    terminators: str = "#",
    inter_digit_timeout_s: float | None = None,
    params: DtmfParams | None = None,
) -> CollectedDigits:
    """Collect digits from tones and out-of-band digits; decodes only while collecting."""
    queue: asyncio.Queue[str] = asyncio.Queue()

    def on_digit(digit: str, how: str) -> None:
        queue.put_nowait(digit)

    def on_end(_: object) -> None:
        queue.put_nowait("")

    detector = DtmfDetector(lambda digit: leg.deliver_digit(digit, "inband"), params)
    leg.add_digit_listener(on_digit)
    leg.add_pcm_listener(detector)
    leg.ended.add_done_callback(on_end)
    digits = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while len(digits) < max_digits:
            wait = deadline - loop.time()
            if digits and inter_digit_timeout_s is not None:
                wait = min(wait, inter_digit_timeout_s)
            try:
                async with asyncio.timeout(max(wait, 0)):
                    digit = await queue.get()
            except TimeoutError:
                return CollectedDigits(digits, "timeout")
            if not digit:
                return CollectedDigits(digits, "ended")
            if digit in terminators:
                return CollectedDigits(digits, "terminator")
            digits += digit
        return CollectedDigits(digits, "max_digits")
    finally:
        leg.ended.remove_done_callback(on_end)
        leg.remove_pcm_listener(detector)
        leg.remove_digit_listener(on_digit)
