"""The IVR driver's view of one call at this site (media, storage, call data)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from site_node import call as callsm
from site_node.ivr import LookupResult, VerifyRequest
from site_node.media.legs import Leg

if TYPE_CHECKING:
    from site_node.runtime.base import LiveCall
    from site_node.runtime.calls import CallsMixin


class CallIvrHost:
    def __init__(self, runtime: CallsMixin, lc: LiveCall) -> None:
        assert lc.leg is not None
        self._rt = runtime
        self._lc = lc
        self.leg: Leg = lc.leg
        self._sensitive = False

    def now(self) -> float:
        return self._rt.now()

    async def play(self, text: str, language: str) -> bool:
        return await self._rt.switch.play_prompt(self.leg.leg_id, text, language)

    def stop_prompt(self) -> None:
        self._rt.switch.stop_prompt(self.leg.leg_id)

    async def lookup(self, by: str, key: str | None) -> LookupResult:
        customers = self._rt.storage.customers
        if not key:
            return LookupResult(False)
        if by == "caller_number":
            view = await customers.by_caller_number(key)
        elif by == "customer_number":
            view = await customers.by_customer_number(key)
        elif by == "account":
            view = await customers.by_account_number(key)
        else:
            view = None
        if view is None:
            return LookupResult(False)
        self._lc.segment = view.segment
        self._lc.language = view.language
        masked = view.accounts[0].masked_number if view.accounts else None
        return LookupResult(
            True,
            customer_id=view.id,
            segment=view.segment,
            masked_account=masked,
            attributes={"customer_name": view.name, "home_site": view.home_site or ""},
        )

    async def verify(self, verifier: str, request: VerifyRequest) -> bool:
        """The one place a sensitive value is read: handed to the verifier, then forgotten."""
        customer_id = self._lc.call.data.customer_id or self._lc.record.customer_id
        if verifier != "pin" or not customer_id:
            return False
        return bool(await self._rt.storage.customers.verify_pin(customer_id, request.secret.reveal()))

    def set_data(self, section: str, key: str, value: Any) -> None:
        self._rt.apply_call(self._lc, callsm.SetData(section, key, value))

    def add_action(self, action: str) -> None:
        self._rt.apply_call(self._lc, callsm.AddAction(action))

    async def request_callback(self, number: str | None) -> None:
        await self._rt.request_callback(self._lc, number)

    def sensitive(self, on: bool) -> None:
        """Pause the recording while sensitive input is collected (edge-triggered)."""
        media = self._lc.media
        if on == self._sensitive:
            return
        self._sensitive = on
        if media is not None:
            if on:
                media.pause_recording()
            else:
                media.resume_recording()
