"""The IVR driver's view of one call at this site (media, central's customers, call data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from cluster.clock import Clock
from site_node import call as callsm
from site_node.calls.identity import IDENTITY_KEY, Identity, by_number
from site_node.calls.live import LiveCall
from site_node.crm.directory import Customers
from site_node.ivr import FetchRequest, FetchResult, LookupResult, VerifyRequest, VerifyResult
from site_node.media.legs import Leg

# How the caller was recognised, as the agent's screen says it. A caller number identifies; only
# a network-delivered one is trusted for more (:mod:`site_node.calls.identity`).
IDENTIFIED_BY = {
    Identity.UNVERIFIED: "by caller number, unverified",
    Identity.NETWORK: "by caller number (network)",
    "customer_number": "by customer number",
    "account": "by account number",
}


class PromptPlayer(Protocol):
    async def play_prompt(self, leg_id: str, text: str | None, language: str, audio: str | None = None) -> bool: ...

    def stop_prompt(self, leg_id: str) -> None: ...


class PinVerifier(Protocol):
    async def verify(self, customer_id: str, pin: str, *, call_id: str) -> Any: ...  # a Verification


class Callbacks(Protocol):
    async def request_callback(self, lc: LiveCall, number: str | None) -> None: ...


class Resources(Protocol):
    async def fetch(self, request: FetchRequest) -> FetchResult: ...


class CallIvrHost:
    def __init__(
        self,
        lc: LiveCall,
        *,
        prompts: PromptPlayer,
        customers: Customers,
        pins: PinVerifier,
        clock: Clock,
        callbacks: Callbacks,
        tell: Callable[[str, dict[str, Any]], None] | None = None,
        resources: Resources | None = None,
    ) -> None:
        assert lc.leg is not None
        self._lc = lc
        self._prompts = prompts
        self._customers = customers
        self._pins = pins
        self._clock = clock
        self._callbacks = callbacks
        self.leg: Leg = lc.leg
        self._sensitive = False
        self._listening = False
        self._tell = tell
        self._resources = resources

    def now(self) -> float:
        return self._clock.now()

    async def play(self, text: str | None, language: str, audio: str | None = None) -> bool:
        if text and self._tell is not None:
            self._tell("prompt", {"text": text, "language": language})  # shown as text too (A4)
        return await self._prompts.play_prompt(self.leg.leg_id, text, language, audio)

    def stop_prompt(self) -> None:
        self._prompts.stop_prompt(self.leg.leg_id)

    async def lookup(self, by: str, key: str | None) -> LookupResult:
        if not key or by not in ("caller_number", "customer_number", "account"):
            return LookupResult(False)
        view = await self._customers.find(by, key)
        if view is None:
            return LookupResult(False)
        attributes = {"customer_name": view.name, "home_site": view.home_site or ""}
        segment: str | None = view.segment
        if by == "caller_number":
            found = by_number(self._lc.record)
            attributes |= {"identified_by": IDENTIFIED_BY[found], IDENTITY_KEY: str(found)}
            if found is Identity.UNVERIFIED:
                segment = None  # an asserted number never raises priority nor picks the VIP service
        else:
            attributes["identified_by"] = IDENTIFIED_BY[by]
        if segment is not None:
            self._lc.segment = segment
        self._lc.language = view.language  # the greeting's language: a choice, nothing said
        masked = view.accounts[0].masked_number if view.accounts else None
        return LookupResult(True, customer_id=view.id, segment=segment, masked_account=masked, attributes=attributes)

    async def verify(self, verifier: str, request: VerifyRequest) -> VerifyResult:
        """The one place a sensitive value is read: handed to the verifier, then forgotten.
        A customer locked out after repeated failures (any call, any site) is not checked."""
        customer_id = self._lc.call.data.customer_id or self._lc.record.customer_id
        if verifier != "pin" or not customer_id:
            return VerifyResult(False)
        outcome = await self._pins.verify(customer_id, request.secret.reveal(), call_id=self._lc.call_id)
        ok = outcome.value == "verified"
        if ok and self._lc.segment is None:  # verified now: the customer's segment counts
            view = await self._customers.card(customer_id)
            if view is not None:
                self._lc.segment = view.segment
                self.set_data("call", "segment", view.segment)
        return VerifyResult(ok, locked=outcome.value == "locked")

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """Self-service fields from the back offices (central's resource engine)."""
        if self._resources is None:
            return FetchResult(error="resources.not_configured")
        return await self._resources.fetch(request)

    def set_data(self, section: str, key: str, value: Any) -> None:
        self._lc.apply(callsm.SetData(section, key, value), self._clock.now())

    def add_action(self, action: str) -> None:
        self._lc.apply(callsm.AddAction(action), self._clock.now())

    async def request_callback(self, number: str | None) -> None:
        await self._callbacks.request_callback(self._lc, number)

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

    def listening(self, on: bool) -> None:
        """Tell the caller's client when the IVR takes keys (edge-triggered): ``collecting``
        with ``listening`` true or false. Keys sent before are kept for the next question."""
        if on == self._listening:
            return
        self._listening = on
        if self._tell is not None:
            self._tell("collecting", {"listening": on})
