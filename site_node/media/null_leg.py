"""A media-less leg: a participant that has signalling but no audio transport.

Used for customers who join with ``no_media`` (load generators, text-only clients): the IVR,
the queue and the agent bridge run exactly as for a WebRTC leg, digits arrive over signalling
(:meth:`Leg.deliver_digit`), and nothing is ever received, so no decoder runs.

The switch's sources (prompt players, music on hold, another leg's forwarder) keep offering
frames to the leg's :class:`OutboundPort` as they would for a real transport; instead of a
sender pulling packets, the leg drains its port on the switch's 20 ms ticker and discards the
frames. Prompts therefore play to the end in real time (their players run on the same ticker)
and the port never builds a standing queue.
"""

from __future__ import annotations

from site_node.media.codecs import CodecSpec
from site_node.media.legs import Leg
from site_node.media.ports import OutboundPort
from site_node.media.tasks import Ticker


class DiscardingPort(OutboundPort):
    """An outbound port whose frames are consumed by :meth:`drain` instead of a transport."""

    def drain(self) -> int:
        """Drop every queued frame (counted as sent); returns how many there were."""
        count = len(self._queue)
        if count:
            self._queue.clear()
            self.sent += count
        return count


class NullLeg(Leg):
    """A leg with no transport; register it with :meth:`MediaSwitch.add_leg`."""

    def __init__(self, leg_id: str, spec: CodecSpec, ticker: Ticker) -> None:
        super().__init__(leg_id, spec)
        self.port: DiscardingPort = DiscardingPort(leg_id, spec)
        self._ticker = ticker
        self.frames_discarded = 0
        ticker.add(self)

    def on_tick(self) -> None:
        self.frames_discarded += self.port.drain()

    async def _close(self) -> None:
        self._ticker.remove(self)
