"""Test-side WebRTC peers (plain aiortc clients) and frequency analysis helpers."""

from __future__ import annotations

import asyncio
import fractions
from collections import deque
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from site_node.media import MediaSwitch, WebRtcLeg
from site_node.media.dtmf import COLS, KEYS, ROWS

RATE = 48_000
FRAME = 960


def dtmf_samples(digits: str, on_s: float = 0.1, off_s: float = 0.1, amp: float = 0.3) -> np.ndarray:
    parts = []
    for digit in digits:
        row = next(i for i, keys in enumerate(KEYS) if digit in keys)
        col = KEYS[row].index(digit)
        t = np.arange(int(RATE * on_s)) / RATE
        tone = np.sin(2 * np.pi * ROWS[row] * t) + np.sin(2 * np.pi * COLS[col] * t)
        parts += [amp * 32767 * tone / 2, np.zeros(int(RATE * off_s))]
    return np.concatenate(parts).astype(np.int16)


class SignalTrack(MediaStreamTrack):
    """Paced 20 ms frames: a steady tone (or silence), or queued samples (DTMF) first."""

    kind = "audio"

    def __init__(self, freq: float | None = None, amp: float = 0.3) -> None:
        super().__init__()
        self.freq = freq
        self.amp = amp
        self._pending = np.zeros(0, np.int16)
        self._n = 0
        self._start: float | None = None

    def play(self, samples: np.ndarray) -> None:
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


class ClientPeer:
    """One participant: sends ``track``, keeps the last seconds of what it receives."""

    def __init__(self, freq: float | None = None, codec: str | None = None) -> None:
        self.pc = RTCPeerConnection()
        self.track = SignalTrack(freq)
        transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
        if codec is not None:
            caps = RTCRtpSender.getCapabilities("audio")
            assert caps is not None
            transceiver.setCodecPreferences([c for c in caps.codecs if c.name == codec])
        self.channel = self.pc.createDataChannel("dtmf")
        self._audio: deque[np.ndarray] = deque(maxlen=300)
        self.rate = RATE
        self.frames = 0
        self._consumer: asyncio.Task[None] | None = None

        @self.pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            self._consumer = asyncio.get_running_loop().create_task(self._consume(track))

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

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def recent(self, seconds: float) -> np.ndarray:
        frames = list(self._audio)
        if not frames:
            return np.zeros(0, np.int16)
        data = np.concatenate(frames)
        return data[-int(seconds * self.rate) :]

    async def close(self) -> None:
        await self.pc.close()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)


async def join(switch: MediaSwitch, leg_id: str, peer: ClientPeer) -> WebRtcLeg:
    leg, answer = await switch.answer_webrtc(leg_id, await peer.offer())
    await peer.accept(answer)
    async with asyncio.timeout(10):
        while peer.pc.connectionState != "connected" or leg.pc.connectionState != "connected":
            await asyncio.sleep(0.02)
    return leg


# ---------------------------------------------------------------- analysis
def spectrum(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    x = x.astype(np.float64)
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return np.fft.rfftfreq(len(x), 1 / rate), power


def dominant(x: np.ndarray, rate: int) -> float:
    freqs, power = spectrum(x, rate)
    power[freqs < 100] = 0
    return float(freqs[int(np.argmax(power))])


def band_share(x: np.ndarray, rate: int, freq: float, width: float = 25.0) -> float:
    """Share of the signal's power within ``freq`` +/- ``width`` Hz."""
    freqs, power = spectrum(x, rate)
    total = float(power[freqs >= 100].sum()) or 1.0
    return float(power[np.abs(freqs - freq) <= width].sum()) / total


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


async def hears(peer: ClientPeer, freq: float, *, timeout: float = 8.0, share: float = 0.5) -> bool:
    """Wait until ``freq`` dominates the last 300 ms the peer received."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        x = peer.recent(0.3)
        if len(x) >= int(0.3 * peer.rate) * 0.9 and rms(x) > 300:
            if band_share(x, peer.rate, freq) >= share:
                return True
        await asyncio.sleep(0.05)
    return False


async def hears_all(peer: ClientPeer, freqs: list[float], *, timeout: float = 8.0, share: float = 0.15) -> bool:
    """Wait until every one of ``freqs`` carries at least ``share`` of the recent audio."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        x = peer.recent(0.4)
        if len(x) >= int(0.4 * peer.rate) * 0.9 and rms(x) > 300:
            if all(band_share(x, peer.rate, f) >= share for f in freqs):
                return True
        await asyncio.sleep(0.05)
    return False
