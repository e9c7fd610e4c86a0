"""The calls live at this site: each call's machine with its session, media and record."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cluster.callrecords import CallRecord
from site_node.call import Call, CallEvent, CallTransition
from site_node.media.legs import Leg
from site_node.media.switch import CallMedia
from site_node.runtime.errors import UnknownCall
from site_node.signalling.control import Session


@dataclass(eq=False)
class LiveCall:
    call: Call
    record: CallRecord
    session: Session | None = None
    leg: Leg | None = None
    media: CallMedia | None = None
    transitions: list[CallTransition] = field(default_factory=list)
    driver: asyncio.Task[Any] | None = None
    segment: str | None = None
    language: str | None = None
    temporary_agent: str | None = None  # C5c: the agent the caller returns to
    finished: bool = False
    counted: bool = False  # in the site's call metrics (site_node.metrics)
    announced: tuple[int | None, int | None] | None = None
    outcome_elsewhere: bool = False
    wrap_up: tuple[str, str] | None = None  # (code, notes) the agent gave
    screen_pop: dict[str, Any] | None = None  # the masked pop the answering agent got (a consult gets it too)
    record_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def call_id(self) -> str:
        return self.call.call_id

    def apply(self, event: CallEvent, now: float) -> None:
        """The one way a live call changes: its machine's transition, kept for the CDR events."""
        self.transitions.append(self.call.apply(event, now))


class CallBook:
    """The site's live calls, and the ended ones whose agent is still in wrap-up."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.live: dict[str, LiveCall] = {}
        self.wrapping: dict[str, LiveCall] = {}

    def get(self, call_id: str | None) -> LiveCall | None:
        return self.live.get(call_id) if call_id else None

    def __getitem__(self, call_id: str) -> LiveCall:
        lc = self.live.get(call_id)
        if lc is None:
            raise UnknownCall(f"no live call {call_id} at {self.site}", call_id=call_id)
        return lc

    def __contains__(self, call_id: object) -> bool:
        return call_id in self.live

    def __len__(self) -> int:
        return len(self.live)

    def values(self) -> list[LiveCall]:
        return list(self.live.values())
