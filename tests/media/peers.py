"""Test-side WebRTC peers (plain aiortc clients) and frequency analysis helpers."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from pyee.asyncio import AsyncIOEventEmitter

from site_node.media import MediaSwitch, WebRtcLeg
from webrtc_client.audio import FRAME, RATE, SignalTrack, band_share, dtmf_samples, rms, spectrum

__all__ = ["FRAME", "RATE", "SignalTrack", "dtmf_samples"]


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


async def emitted_until(emitter: AsyncIOEventEmitter, event: str, done: Callable[[], bool]) -> None:
    """Wait until ``done()`` holds, re-checking each time ``emitter`` emits ``event``
    (e.g. a peer connection's ``connectionstatechange``, a data channel's ``open``)."""
    changed = asyncio.Event()

    def wake(*_: object) -> None:
        changed.set()

    emitter.on(event, wake)
    try:
        while not done():
            await changed.wait()
            changed.clear()
    finally:
        emitter.remove_listener(event, wake)


async def join(switch: MediaSwitch, leg_id: str, peer: ClientPeer) -> WebRtcLeg:
    leg, answer = await switch.answer_webrtc(leg_id, await peer.offer())
    await peer.accept(answer)
    async with asyncio.timeout(10):
        for pc in (peer.pc, leg.pc):
            await emitted_until(pc, "connectionstatechange", lambda pc=pc: pc.connectionState == "connected")
    return leg


# ---------------------------------------------------------------- analysis
def dominant(x: np.ndarray, rate: int) -> float:
    freqs, power = spectrum(x, rate)
    power[freqs < 100] = 0
    return float(freqs[int(np.argmax(power))])


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
