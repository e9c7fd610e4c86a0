"""A plain-RTP test peer (a phone on the far side of a trunk): sends a PCMU/PCMA tone every
20 ms and RFC 4733 keys, keeps what it hears decoded (``recent``/``rate`` like the WebRTC
test peers, so the same frequency checks apply)."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from typing import Any

import numpy as np

from site_node.media.codecs import INTERNAL_RATE, AudioDecoder, AudioEncoder, codec_by_name
from site_node.media.rtp_sdp import RtpMedia, build_sdp, parse_sdp
from site_node.media.rtp_wire import EventReceiver, RtpPacket, event_packets, parse_rtp


class RtpPeer(asyncio.DatagramProtocol):
    def __init__(self, tone_hz: float | None = 440.0, codec: str = "PCMU", event_pt: int = 101) -> None:
        self.tone_hz = tone_hz
        self.spec = codec_by_name(codec)
        self.pt = 0 if codec == "PCMU" else 8
        self.event_pt = event_pt
        self.rate = INTERNAL_RATE
        self.remote: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.keys_heard = ""
        self.packets_in = 0
        self._audio: deque[np.ndarray] = deque(maxlen=300)
        self._decoder = AudioDecoder(self.spec)
        self._encoder = AudioEncoder(self.spec, input_rate=8000)
        self._events = EventReceiver()
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)
        self._phase = 0
        self._sending_key = False
        self._task: asyncio.Task[None] | None = None

    async def open(self, host: str = "127.0.0.1") -> RtpPeer:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, 0))
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    def offer(self) -> str:
        return build_sdp(RtpMedia("127.0.0.1", self.port, ((0, "PCMU"), (8, "PCMA")), self.event_pt))

    def accept(self, answer_sdp: str) -> None:
        media = parse_sdp(answer_sdp)
        self.remote = (media.host, media.port)
        self.pt = media.first_codec[0]
        self.spec = codec_by_name(media.first_codec[1])
        self._decoder = AudioDecoder(self.spec)
        self._encoder = AudioEncoder(self.spec, input_rate=8000)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._send_loop())

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        packet = parse_rtp(data)
        if packet.payload_type == self.event_pt:
            key = self._events.key(packet)
            if key:
                self.keys_heard += key
            return
        self.packets_in += 1
        self._audio.append(self._decoder.decode(packet.payload))

    def recent(self, seconds: float) -> np.ndarray:
        frames = list(self._audio)
        return np.concatenate(frames)[-int(seconds * self.rate) :] if frames else np.zeros(0, np.int16)

    def _frame(self) -> bytes:
        n = 160
        if self.tone_hz is None:
            pcm = np.zeros(n, np.int16)
        else:
            t = (self._phase + np.arange(n)) / 8000
            pcm = (9000 * np.sin(2 * np.pi * self.tone_hz * t)).astype(np.int16)
        self._phase += n
        return self._encoder.encode(pcm)[0]

    def _send(self, pt: int, ts: int, payload: bytes, marker: bool = False) -> None:
        assert self.transport is not None and self.remote is not None
        self.transport.sendto(RtpPacket(pt, self._seq, ts, 0x1234, payload, marker).to_bytes(), self.remote)
        self._seq = (self._seq + 1) & 0xFFFF

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            payload = self._frame()
            if not self._sending_key:
                self._send(self.pt, self._ts, payload)
            self._ts = (self._ts + 160) & 0xFFFFFFFF

    async def press(self, digits: str) -> None:
        for digit in digits:
            self._sending_key = True
            ts = self._ts
            for i, event in enumerate(event_packets(digit)):
                self._send(self.event_pt, ts, event.to_bytes(), marker=i == 0)
                await asyncio.sleep(0.02)
            self._sending_key = False
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.transport is not None:
            self.transport.close()
