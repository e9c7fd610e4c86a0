"""Callbacks and voicemail: a caller asks to be called back, or leaves a message."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from cluster.clock import Clock
from cluster.tasks import TaskOwner
from site_node.call import CallState, EndReason
from site_node.calls.live import CallBook, LiveCall
from site_node.calls.ports import Ender
from site_node.runtime.errors import BadCommand
from site_node.signalling.control import Session
from site_node.storage import CallbackRequest, Storage, VoicemailMessage


class Prompts(Protocol):
    async def play_prompt(self, leg_id: str, text: str | None, language: str, audio: str | None = None) -> bool: ...


class Messages:
    def __init__(
        self,
        *,
        site: str,
        storage: Storage,
        prompts: Prompts,
        clock: Clock,
        owner: TaskOwner,
        book: CallBook,
        ender: Ender,
    ) -> None:
        self._site = site
        self._storage = storage
        self._prompts = prompts
        self._clock = clock
        self._owner = owner
        self._book = book
        self._ender = ender

    async def request_callback(self, lc: LiveCall, number: str | None, *, due_at: float | None = None) -> None:
        now = self._clock.now()
        await self._storage.callbacks.request_callback(
            CallbackRequest(
                phone=number or lc.call.caller_number,
                requested_at=now,
                due_at=now if due_at is None else due_at,
                customer_id=lc.call.data.customer_id,
                call_id=lc.call_id,
                site=self._site,
                queue=lc.call.queue,
            )
        )
        lc.call.callback_requested = True

    def callback_instead(self, lc: LiveCall, *, by: str) -> None:
        """Stop waiting: the request is stored and the call ends as ``callback_requested``."""
        self._owner.spawn(self.request_callback(lc, lc.call.caller_number), f"callback-{lc.call_id}")
        self._ender.end_call(lc, by=by, reason=EndReason.CALLBACK_REQUESTED)

    def trunk_lost(self, lc: LiveCall) -> None:
        """The SIP edge that held this caller's phone line died (the line is gone with it): a
        callback is stored, due at the call's first arrival so it keeps its place among the
        callbacks (dialled in the order the callers first called). A waiting call ends as
        ``callback_requested``; one with an agent ends as it would (``answered_completed``)
        with ``callback_requested`` set. The log says ``by=trunk_lost``."""
        due = lc.call.original_arrival_at
        waiting = lc.call.state in (CallState.IN_IVR, CallState.QUEUED)
        lc.call.callback_requested = True  # in the CDR even if it is written before the request lands
        self._owner.spawn(self.request_callback(lc, lc.call.caller_number, due_at=due), f"callback-{lc.call_id}")
        self._ender.end_call(lc, by="trunk_lost", reason=EndReason.CALLBACK_REQUESTED if waiting else None)

    def customer_callback(self, session: Session) -> None:
        lc = self._book[session.subject]
        if lc.call.state not in (CallState.QUEUED, CallState.IN_IVR):
            raise BadCommand("a callback can be asked for while waiting")
        self.callback_instead(lc, by="customer")

    def start_voicemail(self, lc: LiveCall, max_s: float) -> None:
        self._owner.spawn(self.voicemail(lc, max_s), f"voicemail-{lc.call_id}")

    async def voicemail(self, lc: LiveCall, max_s: float) -> None:
        assert lc.leg is not None and lc.media is not None
        with contextlib.suppress(Exception):
            await self._prompts.play_prompt(lc.leg.leg_id, "Please leave your message after the tone.", "en")
        lc.media.start_recording(stereo=False)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(lc.leg.ended), max_s)
        info = lc.media.stop_recording()
        if info is not None:
            await self._storage.voicemail.add_voicemail(
                VoicemailMessage(
                    call_id=lc.call_id,
                    path=info.path,
                    duration_s=info.duration_s,
                    created_at=self._clock.now(),
                    customer_id=lc.call.data.customer_id,
                    caller_number=lc.call.caller_number,
                    queue=lc.call.queue,
                )
            )
        if not lc.call.is_ended:
            self._ender.end_call(lc, by="site", reason=EndReason.VOICEMAIL)
