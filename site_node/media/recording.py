"""Call recording: customer on the left channel, the other parties on the right (or mixed).

Runs on the switch's 20 ms tick from decoded audio (the legs decode only while recorded).
While paused (sensitive input, e.g. a PIN) silence is written, so the timeline stays true and
nothing sensitive lands on disk. The audio is 16 kHz 16-bit PCM, sealed with AES-GCM as it is
written (:mod:`site_node.recordings.sealed`: no plaintext audio on disk, played back only through the
site's audited endpoint), and :class:`RecordingInfo` goes to the storage layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cluster.clock import Clock
from cluster.logs import log
from site_node.media.codecs import FRAME_SAMPLES, Pcm, Resampler
from site_node.media.legs import Leg
from site_node.media.mixer import PcmFifo, mix
from site_node.media.tasks import Ticker
from site_node.metrics import recording_failed
from site_node.recordings.sealed import AudioKeys, SealedWriter

_log = logging.getLogger(__name__)

RECORDING_RATE = 16_000
GUARD_FRAMES = 15  # 300 ms of silence after sensitive input


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    call_id: str
    path: str
    started_at: float
    ended_at: float
    duration_s: float
    paused_s: float
    channels: int  # 2: customer left / others right; 1: mixed
    sample_rate: int


class Recorder:
    def __init__(
        self,
        call_id: str,
        path: Path,
        ticker: Ticker,
        clock: Clock,
        *,
        keys: AudioKeys,
        stereo: bool = True,
    ) -> None:
        self.call_id = call_id
        self.path = path
        self._ticker = ticker
        self._clock = clock
        self._stereo = stereo
        self._left: dict[str, tuple[Leg, PcmFifo]] = {}
        self._right: dict[str, tuple[Leg, PcmFifo]] = {}
        self._resamplers = [Resampler(48_000, RECORDING_RATE) for _ in range(2)]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out = SealedWriter(path, keys, channels=2 if stereo else 1, rate=RECORDING_RATE)  # closed in stop()
        self._started_at = clock.now()
        self._frames = 0
        self._paused_frames = 0
        self._pause_depth = 0
        self._guard = 0
        self._info: RecordingInfo | None = None
        self._failed = False
        ticker.add(self)

    @property
    def paused(self) -> bool:
        return self._pause_depth > 0

    def pause(self) -> None:
        """Write silence until :meth:`resume` (nested pauses count)."""
        self._pause_depth += 1

    def resume(self) -> None:
        """End a pause. Audio buffered meanwhile is dropped and a short guard stays silent:
        the tail of the last key tone is still in flight when the digit is recognised."""
        self._pause_depth = max(0, self._pause_depth - 1)
        if self._pause_depth == 0:
            self._guard = GUARD_FRAMES
            for _leg, fifo in [*self._left.values(), *self._right.values()]:
                fifo.clear()

    def set_parties(self, left: list[Leg], right: list[Leg]) -> None:
        """Customer side and the other side (agents, barged-in supervisors)."""
        self._sync(self._left, left)
        self._sync(self._right, right)

    @staticmethod
    def _sync(channel: dict[str, tuple[Leg, PcmFifo]], legs: list[Leg]) -> None:
        wanted = {leg.leg_id: leg for leg in legs}
        for leg_id in list(channel):
            if leg_id not in wanted:
                leg, fifo = channel.pop(leg_id)
                leg.remove_pcm_listener(fifo)
        for leg_id, leg in wanted.items():
            if leg_id not in channel:
                fifo = PcmFifo()
                leg.add_pcm_listener(fifo)
                channel[leg_id] = (leg, fifo)

    def on_tick(self) -> None:
        left = mix([fifo.pull() for _leg, fifo in self._left.values()])
        right = mix([fifo.pull() for _leg, fifo in self._right.values()])
        self._frames += 1
        if self.paused or self._guard > 0:
            self._guard = max(0, self._guard - 1) if not self.paused else self._guard
            self._paused_frames += 1
            left = right = np.zeros(FRAME_SAMPLES, np.int16)
        if self._failed:
            return
        try:
            self._write(left, right)
        except (OSError, ValueError) as exc:  # disk full, file gone: the call goes on unrecorded
            self._failed = True
            recording_failed("write")
            log(_log, logging.ERROR, "recording failed; the call continues unrecorded", call_id=self.call_id,
                reason=f"{type(exc).__name__}: {exc}")  # fmt: skip

    def _write(self, left: Pcm, right: Pcm) -> None:
        if self._stereo:
            a = self._resamplers[0].process(left)
            b = self._resamplers[1].process(right)
            n = min(len(a), len(b))
            data = np.empty(2 * n, np.int16)
            data[0::2], data[1::2] = a[:n], b[:n]
        else:
            data = self._resamplers[0].process(mix([left, right]))
        self._out.write(data.astype("<i2").tobytes())

    def stop(self) -> RecordingInfo:
        if self._info is not None:
            return self._info
        self._ticker.remove(self)
        self.set_parties([], [])
        self._out.close()
        frame_s = FRAME_SAMPLES / 48_000
        self._info = RecordingInfo(
            call_id=self.call_id,
            path=str(self.path),
            started_at=self._started_at,
            ended_at=self._clock.now(),
            duration_s=round(self._frames * frame_s, 3),
            paused_s=round(self._paused_frames * frame_s, 3),
            channels=2 if self._stereo else 1,
            sample_rate=RECORDING_RATE,
        )
        return self._info
