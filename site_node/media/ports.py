"""A leg's outgoing audio: one port, one active source at a time, packets out.

Sources (another leg's forwarder, a transcoder, a prompt player, music on hold, a mixer) offer
encoded frames; the port keeps only those of its active source, stamps them on one continuous
timeline in the codec's RTP clock, and either hands each frame at once to the transport's
packet sink (:meth:`OutboundPort.set_sink`: the WebRTC leg's RTP writer, no queue) or queues
``av.Packet`` s for a transport that pulls (:meth:`OutboundPort.next_packet`).
A *base* source comes from the call's topology; an *override* (a prompt) takes precedence
while it lasts.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

import av

from site_node.media.codecs import CodecSpec, frame_ticks, make_packet
from site_node.media.errors import LegClosed

_TRIM_WINDOW = 50  # frames (one second)

# (payload, pts in the codec's RTP clock, marker: first frame of a new source) -> None
PacketSink = Callable[[bytes, int, bool], None]


class Source(Protocol):
    def attach(self, port: OutboundPort) -> None: ...

    def detach(self, port: OutboundPort) -> None: ...


class OutboundPort:
    def __init__(self, name: str, spec: CodecSpec, *, max_queue: int = 25) -> None:
        self.name = name
        self.spec = spec
        self._max_queue = max_queue
        self._queue: deque[tuple[bytes, int]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._base: Source | None = None
        self._override: Source | None = None
        self._active: Source | None = None
        self._pts = 0
        self._last_duration = spec.frame_ticks
        self._last_source: object | None = None
        self._last_source_ts: int | None = None
        self._closed = False
        self._min_depth = 0
        self._window = 0
        self._sink: PacketSink | None = None
        self.sent = 0
        self.dropped = 0
        self.pushed = 0  # frames handed straight to the sink (no queue, no av.Packet)

    def set_sink(self, sink: PacketSink | None) -> None:
        """Push every accepted frame to ``sink`` at once instead of queueing it."""
        self._sink = sink
        self._queue.clear()

    # ------------------------------------------------------------ source selection
    @property
    def active_source(self) -> Source | None:
        return self._active

    @property
    def base_source(self) -> Source | None:
        return self._base

    def set_base(self, source: Source | None) -> None:
        self._base = source
        self._reselect()

    def set_override(self, source: Source | None) -> None:
        self._override = source
        self._reselect()

    def clear_override(self, source: Source) -> None:
        if self._override is source:
            self.set_override(None)

    def _reselect(self) -> None:
        wanted = self._override if self._override is not None else self._base
        if wanted is self._active:
            return
        old, self._active = self._active, wanted
        if old is not None:
            old.detach(self)
        if wanted is not None and not self._closed:
            wanted.attach(self)

    # ------------------------------------------------------------ packets
    def offer(self, payload: bytes, source: object, timestamp: int | None = None) -> None:
        """Queue a frame from ``source`` (ignored unless it is the active source)."""
        if source is not self._active or self._closed:
            return
        advance = self._last_duration
        if source is self._last_source and timestamp is not None and self._last_source_ts is not None:
            delta = (timestamp - self._last_source_ts) & 0xFFFFFFFF
            if 0 < delta < self.spec.clock_rate:
                advance = delta
        if self.sent or self._queue:
            self._pts += advance
        new_source = source is not self._last_source
        self._last_source = source
        self._last_source_ts = timestamp
        self._last_duration = frame_ticks(payload, self.spec) or self.spec.frame_ticks
        sink = self._sink
        if sink is not None:
            self.sent += 1
            self.pushed += 1
            sink(payload, self._pts, new_source)
            return
        self._queue.append((payload, self._pts))
        if len(self._queue) > self._max_queue:
            self._queue.popleft()
            self.dropped += 1
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_packet(self) -> av.Packet:
        while not self._queue:
            if self._closed:
                raise LegClosed(f"port {self.name} is closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        payload, pts = self._queue.popleft()
        self.sent += 1
        self._trim_standing_queue()
        return make_packet(payload, pts, self.spec)

    def _trim_standing_queue(self) -> None:
        """Bursts are absorbed (up to ``max_queue``), but a queue that never drains is pure
        added delay: if it stayed at >= 2 frames for a whole second, drop down to one."""
        depth = len(self._queue)
        self._min_depth = depth if self._window == 0 else min(self._min_depth, depth)
        self._window += 1
        if self._window >= _TRIM_WINDOW:
            for _ in range(self._min_depth - 1):
                self._queue.popleft()
                self.dropped += 1
            self._window = 0

    def close(self) -> None:
        self._closed = True
        self._sink = None
        self.set_override(None)
        self.set_base(None)
        old, self._active = self._active, None
        if old is not None:
            old.detach(self)
        self._queue.clear()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
