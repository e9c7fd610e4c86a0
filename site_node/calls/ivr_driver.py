"""Drives one call through an IVR flow: performs the pure interpreter's effects on the media
switch and storage, and feeds the results back as events.

Digits are decoded only while the flow is collecting (menu, collect, sensitive collect): a
DTMF detector is attached to the customer's leg for that time and detached after; digits from
the data channel arrive through the same listener. While the position is sensitive (PIN
entry) the call's recording is paused and no digit is logged, stored or sent anywhere but the
verifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from site_node import ivr
from site_node.ivr import (
    AddCallAction,
    CollectDigits,
    Digit,
    EnqueueCall,
    FetchRequest,
    FetchResult,
    Flow,
    HangupCall,
    LookupRequest,
    LookupResult,
    PlayPrompt,
    Position,
    PromptDone,
    RequestCallback,
    SetCallData,
    StartVoicemail,
    Timeout,
    TransferCall,
    VerifyRequest,
    VerifyResult,
)
from site_node.media.dtmf import DtmfDetector
from site_node.media.legs import Leg
from site_node.metrics import ivr_node_left

_log = logging.getLogger(__name__)

COLLECTING = frozenset({"menu", "collect", "sensitive", "confirm"})
SAME_KEY_S = 0.6
"""A key sent two ways at once (an in-band tone and a data-channel message, as the web page
does) arrives twice within this time; the second copy is dropped."""
Terminal = EnqueueCall | TransferCall | StartVoicemail | HangupCall


class DigitInput:
    """Digits of one leg during a flow.

    Out-of-band digits (data channel, signalling) are buffered for the whole flow, so a key
    sent during a prompt is taken by the next question (type-ahead). In-band tones need the
    audio decoded: the DTMF detector is attached only while the flow is collecting.
    """

    def __init__(self, leg: Leg, dtmf_params: Any = None, *, now: Callable[[], float] | None = None) -> None:
        self._leg = leg
        self._now = now
        self._unpaired: deque[tuple[str, str, float]] = deque()  # (how, digit, at)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self.arrived = asyncio.Event()
        self._detector = DtmfDetector(lambda digit: leg.deliver_digit(digit, "inband"), dtmf_params)
        self._decoding = False
        leg.add_digit_listener(self._on_digit)

    def _on_digit(self, digit: str, how: str) -> None:
        if self._same_key(digit, how):
            return
        self._queue.put_nowait(digit)
        self.arrived.set()

    def _same_key(self, digit: str, how: str) -> bool:
        """Whether ``digit`` is the second copy of a key that already arrived another way."""
        if self._now is None:
            return False
        now = self._now()
        while self._unpaired and now - self._unpaired[0][2] > SAME_KEY_S:
            self._unpaired.popleft()
        for index, (path, key, _) in enumerate(self._unpaired):
            if path != how and key == digit:
                del self._unpaired[index]
                return True
        self._unpaired.append((how, digit, now))
        return False

    def start(self) -> None:
        """Start decoding tones (the flow is collecting)."""
        if not self._decoding:
            self._leg.add_pcm_listener(self._detector)
            self._decoding = True

    def stop(self) -> None:
        """Stop decoding tones (buffered out-of-band digits stay for the next question)."""
        if self._decoding:
            self._leg.remove_pcm_listener(self._detector)
            self._decoding = False

    def close(self) -> None:
        self.stop()
        self._leg.remove_digit_listener(self._on_digit)

    async def get(self, timeout_s: float) -> str | None:
        try:
            async with asyncio.timeout(timeout_s):
                digit = await self._queue.get()
        except TimeoutError:
            return None
        if self._queue.empty():
            self.arrived.clear()
        return digit


class IvrHost(Protocol):
    """What the driver needs from the site runtime for one call (implemented there)."""

    leg: Leg

    def now(self) -> float: ...

    async def play(self, text: str | None, language: str, audio: str | None = None) -> bool: ...

    def stop_prompt(self) -> None: ...

    async def lookup(self, by: str, key: str | None) -> LookupResult: ...

    async def verify(self, verifier: str, request: VerifyRequest) -> VerifyResult: ...

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """Resolve fields through central's resource API; never raises (errors are a result)."""

    def set_data(self, section: str, key: str, value: Any) -> None: ...

    def add_action(self, action: str) -> None: ...

    async def request_callback(self, number: str | None) -> None: ...

    def sensitive(self, on: bool) -> None:
        """Pause (True) or resume (False) the recording around sensitive input."""

    def listening(self, on: bool) -> None:
        """The flow starts (True) or stops (False) taking keys: the client is told."""


NodeExit = Callable[[str, str], None]
"""``(flow_id, node_id)`` of a node the call left (the call's IVR path)."""


def _left(flow: Flow, node_id: str, on_exit: NodeExit | None) -> None:
    ivr_node_left(flow.id, node_id)
    if on_exit is not None:
        on_exit(flow.id, node_id)


def _moved(flow: Flow, old: Position, new: Position, on_exit: NodeExit | None = None) -> Position:
    """The new position; leaving a node counts as that node's exit (``cc_ivr_node_exits_total``)."""
    if new.node_id != old.node_id:
        _left(flow, old.node_id, on_exit)
    return new


async def run_flow(
    host: IvrHost, flow: Flow, *, language: str | None, variables: dict[str, Any], on_exit: NodeExit | None = None
) -> Terminal:
    """Run ``flow`` until it hands the call over; return the terminal effect. ``on_exit`` hears
    every node exit (the terminal node's too, before the return; and, if the flow stops without
    handing the call over, e.g. the caller hung up, the node it stopped at)."""
    digits = DigitInput(host.leg, now=host.now)
    step = ivr.start(flow, host.now(), language=language, vars=variables)
    pos: Position = step.position
    effects = deque(step.effects)
    collect_timeout = 5.0
    handed_over = False
    try:
        while True:
            while effects:
                effect = effects.popleft()
                if pos.phase in COLLECTING:
                    digits.start()
                else:
                    digits.stop()
                host.sensitive(pos.sensitive)
                host.listening(pos.phase in COLLECTING)
                event: ivr.IvrEvent | None = None
                if isinstance(effect, PlayPrompt):
                    await _play(host, effect, digits, barge_in=pos.phase in COLLECTING)
                    event = PromptDone()
                elif isinstance(effect, CollectDigits):
                    collect_timeout = effect.timeout_s
                elif isinstance(effect, LookupRequest):
                    event = await host.lookup(effect.by, effect.key)
                elif isinstance(effect, VerifyRequest):
                    event = await host.verify(effect.verifier, effect)
                elif isinstance(effect, FetchRequest):
                    event = await host.fetch(effect)
                elif isinstance(effect, SetCallData):
                    host.set_data(effect.section, effect.key, effect.value)
                elif isinstance(effect, AddCallAction):
                    host.add_action(effect.action)
                elif isinstance(effect, RequestCallback):
                    await host.request_callback(effect.number)
                else:
                    _left(flow, pos.node_id, on_exit)  # the flow hands the call over here
                    handed_over = True
                    return effect
                if event is not None:
                    step = ivr.step(flow, pos, event, host.now())
                    pos = _moved(flow, pos, step.position, on_exit)
                    effects.extend(step.effects)
            if pos.phase not in COLLECTING:
                raise ivr.UnexpectedEvent(f"ivr {flow.id} stopped at node {pos.node_id} ({pos.phase})")
            digits.start()
            host.sensitive(pos.sensitive)
            host.listening(True)
            digit = await digits.get(collect_timeout)
            step = ivr.step(flow, pos, Timeout() if digit is None else Digit(digit), host.now())
            pos = _moved(flow, pos, step.position, on_exit)
            effects.extend(step.effects)
            if pos.phase not in COLLECTING:
                digits.stop()
    finally:
        digits.close()
        host.sensitive(False)
        host.listening(False)
        if not handed_over and on_exit is not None:
            on_exit(flow.id, pos.node_id)  # the caller left here (the call's path, not the metric)


async def _play(host: IvrHost, effect: PlayPrompt, digits: DigitInput, *, barge_in: bool) -> None:
    text, audio = effect.text, effect.audio
    if not text and not audio:
        return
    if not barge_in:
        await host.play(text, effect.language, audio)
        return
    player = asyncio.create_task(host.play(text, effect.language, audio))
    key = asyncio.create_task(digits.arrived.wait())
    try:
        await asyncio.wait({player, key}, return_when=asyncio.FIRST_COMPLETED)
        if not player.done():
            host.stop_prompt()  # the caller pressed a key: stop talking, take the digits
    finally:
        for task in (player, key):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
