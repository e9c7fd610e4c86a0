"""What a caller can leave instead of waiting: a callback request or a voicemail message."""

from __future__ import annotations

import asyncio
import contextlib

from site_node.call import CallState, EndReason
from site_node.runtime.base import LiveCall, RuntimeState
from site_node.runtime.errors import BadCommand
from site_node.signalling.control import Session
from site_node.storage import CallbackRequest, VoicemailMessage


class MessagesMixin(RuntimeState):
    async def request_callback(self, lc: LiveCall, number: str | None) -> None:
        now = self.now()
        await self.storage.callbacks.request_callback(
            CallbackRequest(
                phone=number or lc.call.caller_number,
                requested_at=now,
                due_at=now,
                customer_id=lc.call.data.customer_id,
                call_id=lc.call_id,
                site=self.site,
                queue=lc.call.queue,
            )
        )
        lc.call.callback_requested = True

    def customer_callback(self, session: Session) -> None:
        lc = self.live_call(session.subject)
        if lc.call.state not in (CallState.QUEUED, CallState.IN_IVR):
            raise BadCommand("a callback can be asked for while waiting")
        self.owner.spawn(self.request_callback(lc, lc.call.caller_number), f"callback-{lc.call_id}")
        self.end_call(lc, by="customer", reason=EndReason.CALLBACK_REQUESTED)

    async def voicemail(self, lc: LiveCall, max_s: float) -> None:
        assert lc.leg is not None and lc.media is not None
        with contextlib.suppress(Exception):
            await self.switch.play_prompt(lc.leg.leg_id, "Please leave your message after the tone.", "en")
        lc.media.start_recording(stereo=False)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(lc.leg.ended), max_s)
        info = lc.media.stop_recording()
        if info is not None:
            await self.storage.voicemail.add_voicemail(
                VoicemailMessage(
                    call_id=lc.call_id,
                    path=info.path,
                    duration_s=info.duration_s,
                    created_at=self.now(),
                    customer_id=lc.call.data.customer_id,
                    caller_number=lc.call.caller_number,
                    queue=lc.call.queue,
                )
            )
        if not lc.call.is_ended:
            self.end_call(lc, by="site", reason=EndReason.VOICEMAIL)
