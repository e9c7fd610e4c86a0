"""Replay of pre-encoded audio on the tick: prompts (per port) and music on hold (shared)."""

from __future__ import annotations

import asyncio

from site_node.media.codecs import CodecSpec
from site_node.media.ports import OutboundPort
from site_node.media.tasks import Ticker


class PromptPlayer:
    """Plays one encoded prompt once on one port; ``done`` says whether it played to the end."""

    def __init__(self, packets: list[bytes], ticker: Ticker) -> None:
        self._packets = packets
        self._ticker = ticker
        self._port: OutboundPort | None = None
        self._index = 0
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def attach(self, port: OutboundPort) -> None:
        self._port = port
        self._ticker.add(self)

    def detach(self, port: OutboundPort) -> None:
        if self._port is port:
            self._port = None
            self._ticker.remove(self)
            if not self.done.done():
                self.done.set_result(False)  # interrupted

    def on_tick(self) -> None:
        port = self._port
        if port is None:
            return
        if self._index < len(self._packets):
            port.offer(self._packets[self._index], self)
            self._index += 1
            return
        self._ticker.remove(self)
        if not self.done.done():
            self.done.set_result(True)
        port.clear_override(self)


class MusicChannel:
    """One endless loop per codec; every held port hears the same packet each tick."""

    def __init__(self, spec: CodecSpec, packets: list[bytes], ticker: Ticker) -> None:
        if not packets:
            raise ValueError("music needs at least one frame")
        self.spec = spec
        self._packets = packets
        self._ticker = ticker
        self._ports: dict[int, OutboundPort] = {}
        self._index = 0

    @property
    def listeners(self) -> int:
        return len(self._ports)

    def attach(self, port: OutboundPort) -> None:
        self._ports[id(port)] = port
        self._ticker.add(self)

    def detach(self, port: OutboundPort) -> None:
        self._ports.pop(id(port), None)
        if not self._ports:
            self._ticker.remove(self)

    def on_tick(self) -> None:
        payload = self._packets[self._index % len(self._packets)]
        self._index += 1
        for port in list(self._ports.values()):
            port.offer(payload, self)
