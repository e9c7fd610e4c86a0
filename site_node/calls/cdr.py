"""Call detail records: one row per call and site, its events, its recording's metadata; and, with
a ``history`` (central's CRM, :class:`site_node.crm.CentralCrm`), the call's entry in the
customer's contact history at central, the same whichever site the call landed at."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from cluster.clock import Clock
from cluster.errors import CallCenterError
from cluster.tasks import TaskOwner
from site_node import call as callsm
from site_node.acd import Acd
from site_node.call import Call, EndReason, to_cdr
from site_node.calls.live import CallBook, LiveCall
from site_node.crm.client import CallHistory
from site_node.media.recording import RecordingInfo
from site_node.metrics import CallMetrics
from site_node.storage import DispositionRecord, RecordingMeta, Storage
from site_node.storage.guard import mask_numbers_in_text

_log = logging.getLogger(__name__)


class CdrWriter:
    def __init__(
        self, *, storage: Storage, owner: TaskOwner, clock: Clock, acd: Acd, book: CallBook, metrics: CallMetrics,
        history: CallHistory | None = None,
    ) -> None:  # fmt: skip
        self._metrics = metrics
        self._history = history
        self._storage = storage
        self._owner = owner
        self._clock = clock
        self._acd = acd
        self._book = book

    @staticmethod
    def cdr_of(lc: LiveCall) -> dict[str, Any]:
        """The call's CDR; a call that ended here after another site took it over (we were
        paused past our lease) records ``failed_over``: the owner's row has the outcome."""
        cdr = to_cdr(lc.call)
        if lc.outcome_elsewhere:
            cdr["end_reason"] = EndReason.FAILED_OVER.value
        return cdr

    async def write(self, lc: LiveCall) -> None:
        events = [
            (t.event, t.at, {"old": t.old.value, "new": t.new.value, "agent_id": t.agent_id, "queue": t.queue})
            for t in lc.transitions
        ]
        cdr = self.cdr_of(lc)
        await self._storage.calls.upsert_call(cdr)
        await self._storage.calls.save_disposition(self.disposition_of(lc))
        self._send_history(lc)
        if events and not lc.finished:
            await self._storage.calls.append_events(lc.call_id, events)
            lc.finished = True
        if cdr["end_reason"] is not None and not lc.counted:
            lc.counted = True  # once per call, however often its record is written again
            self._metrics.call_finished(cdr)

    def disposition_of(self, lc: LiveCall) -> DispositionRecord:
        """What the agent (wrap-up code, notes) and the IVR (collected, actions) left of the call."""
        data = lc.call.data
        code, notes = lc.wrap_up or (None, None)
        return DispositionRecord(
            call_id=lc.call_id,
            customer_id=data.customer_id,
            agent_id=lc.call.agent_id,
            code=code,
            notes=notes or None,
            collected=dict(data.collected),
            attributes=dict(data.attributes),
            actions=tuple(data.actions),
            recorded_at=self._clock.now(),
        )

    async def _wrapped_up(self, lc: LiveCall) -> None:
        await self._storage.calls.upsert_call(self.cdr_of(lc))
        await self._storage.calls.save_disposition(self.disposition_of(lc))
        self._send_history(lc)

    def _send_history(self, lc: LiveCall) -> None:
        if self._history is not None and (lc.call.data.customer_id or lc.record.customer_id):
            self._owner.spawn(self._append_history(lc, self._history), f"crm-history-{lc.call_id}")

    async def _append_history(self, lc: LiveCall, history: CallHistory) -> None:
        """The call's entry at central (written again with the wrap-up: same entry, updated)."""
        customer_number = lc.call.data.customer_id or lc.record.customer_id or ""  # central's number
        cdr, (code, notes) = self.cdr_of(lc), lc.wrap_up or (None, None)
        entry = {"call_id": lc.call_id, "at": cdr.get("arrival_at"), "queue": lc.call.queue,
                 "agent_id": lc.call.agent_id, "outcome": cdr.get("end_reason"), "wrap_up_code": code,
                 "notes": mask_numbers_in_text(notes) if notes else None, "failovers": lc.call.failovers,
                 "actions": list(lc.call.data.actions), "collected": dict(lc.call.data.collected)}  # fmt: skip
        try:
            await history.append_call(customer_number, entry)
        except CallCenterError as exc:  # central unreachable: the site's CDR still has the call
            _log.warning("contact history of call %s not written at central: %s", lc.call_id, exc)

    async def write_unjoined(self, call: Call) -> None:
        """A call that never started here (its caller did not join): a CDR all the same."""
        await self._storage.calls.upsert_call(to_cdr(call))

    async def add_recording(self, lc: LiveCall, info: RecordingInfo) -> None:
        await self._storage.recordings.add_recording(
            RecordingMeta(
                call_id=lc.call_id,
                path=info.path,
                started_at=info.started_at,
                format="wav",
                channels=info.channels,
                ended_at=info.ended_at,
                duration_s=info.duration_s,
                paused_s=info.paused_s,
            )
        )

    def wrap_up_finished(self, agent_id: str) -> None:
        """The agent ended after-call work: the CDR gets its wrap-up end and handle time."""
        now = self._clock.now()
        for call_id, lc in list(self._book.wrapping.items()):
            if lc.call.agent_id == agent_id:
                self._book.wrapping.pop(call_id)
                lc.call.apply(callsm.WrapUpEnded(), now)
                handle = (lc.call.wrap_up_end_at or now) - (lc.call.answered_at or now)
                if lc.call.queue is not None:
                    with contextlib.suppress(Exception):
                        self._acd.record_handle_time(lc.call.queue, handle)
                self._metrics.wrapped_up(lc.call.queue, handle)
                self._owner.spawn(self._wrapped_up(lc), f"cdr-{call_id}")

    def wrap_up_coded(self, agent_id: str, code: str, notes: str) -> None:
        for lc in self._book.wrapping.values():
            if lc.call.agent_id == agent_id:
                lc.call.data.set_value("attributes", "wrap_up_code", code)
                lc.wrap_up = (code, notes)
