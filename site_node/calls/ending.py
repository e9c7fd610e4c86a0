"""Ending a call from whatever state it is in: agents go to wrap-up, the record is closed,
media released, the CDR written."""

from __future__ import annotations

import asyncio
import logging

from cluster.clock import Clock
from cluster.logs import log
from cluster.tasks import TaskOwner
from site_node import call as callsm
from site_node.acd import Acd
from site_node.agent import CallEnded, OfferCancelled
from site_node.call import CallState, EndReason
from site_node.calls.cdr import CdrWriter
from site_node.calls.live import CallBook, LiveCall
from site_node.calls.ports import Desk, LegCloser, Records
from site_node.signalling.notify import Notify

_log = logging.getLogger("site_node.calls")


class CallEnding:
    def __init__(
        self,
        *,
        book: CallBook,
        desk: Desk,
        acd: Acd,
        records: Records,
        cdr: CdrWriter,
        legs: LegCloser,
        notify: Notify,
        owner: TaskOwner,
        clock: Clock,
    ) -> None:
        self._book = book
        self._desk = desk
        self._acd = acd
        self._records = records
        self._cdr = cdr
        self._legs = legs
        self._notify = notify
        self._owner = owner
        self._clock = clock

    def end_call(self, lc: LiveCall, *, by: str, reason: EndReason | None = None) -> None:
        """End the call from whatever state it is in; agents go to wrap-up; CDR written."""
        if lc.call.is_ended:
            return
        call = lc.call
        if lc.driver is not None and asyncio.current_task() is not lc.driver:
            lc.driver.cancel()
        state = call.state
        self._acd.remove_call(lc.call_id)
        for agent_id in {call.agent_id, call.offered_agent_id, call.consult_agent_id, *call.conference_agent_ids}:
            live = self._desk.get(agent_id)
            if live is None or lc.call_id not in live.agent.call_ids:
                continue
            if live.agent.ringing_call_id == lc.call_id:
                self._desk.apply(live, OfferCancelled(lc.call_id))
            else:
                self._desk.apply(live, CallEnded(lc.call_id, self._desk.wrap_up_s))
                self._notify.send(
                    live.session, "moved" if by == "moved" else "call_ended", {"call_id": lc.call_id, "by": by}
                )
            self._acd.release(live.agent_id)
            self._desk.available_again(live)
        if reason is EndReason.TRANSFERRED_OUT and state is CallState.TRANSFERRING:
            lc.apply(callsm.TransferCompleted(), self._clock.now())
        else:
            lc.apply(callsm.Hangup() if reason is None else callsm.End(reason), self._clock.now())
        log(
            _log,
            logging.INFO,
            "call ended",
            call_id=lc.call_id,
            by=by,
            state_was=state.value,
            end_reason=str(call.end_reason),
        )
        if by != "moved":
            self._notify.send(lc.session, "ended", {"reason": str(call.end_reason), "by": by})
        self._book.live.pop(lc.call_id, None)
        if call.agent_id and call.answered_at is not None:
            self._book.wrapping[lc.call_id] = lc
        self._owner.spawn(self._finish(lc, by), f"finish-{lc.call_id}")

    def drop_moved(self, call_id: str, to_site: str | None) -> None:
        """The leader gave this call to another site (we were paused or cut off): let it go."""
        lc = self._book.get(call_id)
        if lc is None or lc.call.is_ended:
            return
        transferred = lc.call.state is CallState.TRANSFERRING  # we asked for it (IVR transfer to a site)
        if not transferred:
            log(_log, logging.WARNING, "call moved away; dropping it here", call_id=call_id, to_site=to_site)
        self._notify.send(lc.session, "moved", {"site": to_site})
        self.end_call(lc, by="moved", reason=EndReason.TRANSFERRED_OUT if transferred else EndReason.FAILED_OVER)

    async def _finish(self, lc: LiveCall, by: str) -> None:
        """Close the routing record first (the moment that decides whose outcome counts),
        then release the media and write the CDR."""
        if by != "moved":
            await self._records.close(lc)
        info = lc.media.end() if lc.media is not None else None
        if lc.leg is not None and by != "moved":
            await self._legs.close_leg(lc.leg.leg_id, "ended")
        if info is not None:
            await self._cdr.add_recording(lc, info)
        await self._cdr.write(lc)
