"""Pacing of the wallboard's server-sent events: when to push a snapshot or a heartbeat.

:class:`Pacer` is pure (the caller passes the time): a snapshot goes out when it differs from
the last one sent and at least ``min_interval_s`` passed since that send; otherwise, after
``heartbeat_s`` without writing anything, a heartbeat goes out so proxies and the page know the
stream is alive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

MIN_INTERVAL_S = 0.5
HEARTBEAT_S = 10.0


class Push(Enum):
    SNAPSHOT = "snapshot"
    HEARTBEAT = "heartbeat"


@dataclass(slots=True)
class Pacer:
    min_interval_s: float = MIN_INTERVAL_S
    heartbeat_s: float = HEARTBEAT_S
    last: dict[str, Any] | None = None
    sent_at: float = field(default=float("-inf"))
    wrote_at: float = field(default=float("-inf"))

    def step(self, snapshot: dict[str, Any], now: float) -> Push | None:
        """What to write now, if anything (and remember it as written)."""
        if snapshot != self.last and now - self.sent_at >= self.min_interval_s:
            self.last, self.sent_at, self.wrote_at = snapshot, now, now
            return Push.SNAPSHOT
        if now - self.wrote_at >= self.heartbeat_s:
            self.wrote_at = now
            return Push.HEARTBEAT
        return None


def sse_event(push: Push, snapshot: dict[str, Any]) -> bytes:
    """One server-sent event: ``event:`` the kind, ``data:`` JSON on one line."""
    data = snapshot if push is Push.SNAPSHOT else {}
    body = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return f"event: {push.value}\ndata: {body}\n\n".encode()
