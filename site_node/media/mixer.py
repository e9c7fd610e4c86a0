"""Decoded-audio plumbing on the 20 ms tick: jitter FIFOs and an N-way mixer.

The mixer has a hearing matrix: each output port hears a chosen set of input legs (the
conference hears everyone but itself; a whispered-to agent hears customer + supervisor; a
listening supervisor hears both parties). One encoder per output (codec state is per stream).
"""

from __future__ import annotations

import numpy as np

from site_node.media.codecs import FRAME_SAMPLES, AudioEncoder, Pcm
from site_node.media.legs import Leg
from site_node.media.ports import OutboundPort
from site_node.media.tasks import Ticker


class PcmFifo:
    """Arrival-driven push, tick-driven pull, with a small prebuffer against arrival jitter."""

    def __init__(self, *, prebuffer: int = 2 * FRAME_SAMPLES, limit: int = 6 * FRAME_SAMPLES):
        self._prebuffer = prebuffer
        self._limit = limit
        self._buffer = np.zeros(0, np.int16)
        self._playing = False
        self.underruns = 0

    def push(self, pcm: Pcm) -> None:
        buffer = np.concatenate([self._buffer, pcm]) if self._buffer.size else pcm
        if len(buffer) > self._limit:  # too far behind: drop the oldest audio
            buffer = buffer[len(buffer) - self._limit :]
        self._buffer = buffer

    def clear(self) -> None:
        self._buffer = np.zeros(0, np.int16)
        self._playing = False

    def pull(self, count: int = FRAME_SAMPLES) -> Pcm:
        if not self._playing:
            if len(self._buffer) < self._prebuffer:
                return np.zeros(count, np.int16)
            self._playing = True
        if len(self._buffer) < count:
            self._playing = False
            self.underruns += 1
            out = np.zeros(count, np.int16)
            out[: len(self._buffer)] = self._buffer
            self._buffer = np.zeros(0, np.int16)
            return out
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out


def mix(frames: list[Pcm], count: int = FRAME_SAMPLES) -> Pcm:
    if not frames:
        return np.zeros(count, np.int16)
    if len(frames) == 1:
        return frames[0]
    total = np.sum([f.astype(np.int32) for f in frames], axis=0)
    return np.clip(total, -32768, 32767).astype(np.int16)


class Mixer:
    """A port source that sends each output the mix of the legs it hears."""

    def __init__(self, ticker: Ticker) -> None:
        self._ticker = ticker
        self._inputs: dict[str, tuple[Leg, PcmFifo]] = {}
        self._routes: dict[int, tuple[OutboundPort, AudioEncoder]] = {}
        self._hearing: dict[int, frozenset[Leg]] = {}

    def route(self, port: OutboundPort, hears: frozenset[Leg]) -> None:
        """Set what ``port`` hears; takes effect when the port selects this mixer."""
        self._hearing[id(port)] = hears
        if id(port) in self._routes:
            self._sync_inputs()

    def attach(self, port: OutboundPort) -> None:
        self._hearing.setdefault(id(port), frozenset())
        self._routes[id(port)] = (port, AudioEncoder(port.spec))
        self._sync_inputs()
        self._ticker.add(self)

    def detach(self, port: OutboundPort) -> None:
        self._routes.pop(id(port), None)
        self._hearing.pop(id(port), None)
        self._sync_inputs()
        if not self._routes:
            self._ticker.remove(self)

    def _sync_inputs(self) -> None:
        wanted = {leg.leg_id: leg for pid in self._routes for leg in self._hearing[pid]}
        for leg_id in list(self._inputs):
            if leg_id not in wanted:
                leg, fifo = self._inputs.pop(leg_id)
                leg.remove_pcm_listener(fifo)
        for leg_id, leg in wanted.items():
            if leg_id not in self._inputs:
                fifo = PcmFifo()
                leg.add_pcm_listener(fifo)
                self._inputs[leg_id] = (leg, fifo)

    def close(self) -> None:
        for port, _encoder in list(self._routes.values()):
            port.set_base(None)
        for leg, fifo in self._inputs.values():
            leg.remove_pcm_listener(fifo)
        self._inputs.clear()
        self._routes.clear()
        self._ticker.remove(self)

    def on_tick(self) -> None:
        frames = {leg_id: fifo.pull() for leg_id, (_leg, fifo) in self._inputs.items()}
        for port_id, (port, encoder) in list(self._routes.items()):
            hears = self._hearing.get(port_id, frozenset())
            mixed = mix([frames[leg.leg_id] for leg in hears if leg.leg_id in frames])
            for payload in encoder.encode(mixed):
                port.offer(payload, self)
