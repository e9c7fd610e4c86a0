"""The IVR interpreter: a pure machine ``(flow, position, event, now) -> (position, effects)``.

The driver (site runtime + media switch) performs the effects and feeds back events:

=================  ==================================================================
effect             driver does, then sends
=================  ==================================================================
PlayPrompt         play text (TTS) or audio            -> PromptDone
CollectDigits      collect up to N digits (barge-in)    -> Digit ... / Timeout
LookupRequest      look the customer up                 -> LookupResult
VerifyRequest      check ``secret.reveal()`` ONLY here  -> VerifyResult(ok)
SetCallData        ``call.apply(SetData(...))``
AddCallAction      ``call.apply(AddAction(...))``
EnqueueCall        ``call.apply(Enqueue(...))`` + ACD  (flow finished)
TransferCall       return_to_agent / number / site / queue (flow finished)
StartVoicemail     record a message                     (flow finished)
RequestCallback    register a callback for the caller   (the flow continues)
HangupCall         end the call                         (flow finished)
=================  ==================================================================

Sensitive input (``sensitive_collect``): digits accumulate in a :class:`Secret` that prints as
``***``, is not JSON-serialisable, is left out of :meth:`Position.to_record`, and goes out only
inside :class:`VerifyRequest`. Only ``verified: true/false`` reaches call data. While
``position.sensitive`` is true the driver must not log or record the digit events.

Keys pressed while nothing collects (during a plain prompt, a look-up or a verification) are
dropped: there is no type-ahead. Other events that the current node cannot take raise
:class:`UnexpectedEvent` (``ivr.unexpected_event``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import FlowLoop, UnexpectedEvent
from .flow import DAYS, Flow, Node, Prompt, menu_sentence
from .selfservice_events import FetchRequest, FetchResult

_log = logging.getLogger("site_node.ivr")
MAX_AUTO_STEPS = 100
NODE_ENTER: dict[str, Any] = {}
"""Node types defined outside this module: ``(flow, node, pos, effects, now, enter) -> Position``."""
PHASE_HANDLERS: dict[str, Any] = {}
"""Their phases: ``(flow, node, pos, event, effects, now, enter) -> Position``."""


class Secret:
    """A sensitive value: never printed, never serialised; ``reveal()`` for the verifier."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __add__(self, digit: str) -> Secret:
        return Secret(self._value + digit)

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


# ---- events ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PromptDone:
    pass


@dataclass(frozen=True, slots=True)
class Digit:
    digit: str

    def __repr__(self) -> str:  # digits may be sensitive: never show them
        return "Digit(*)"


@dataclass(frozen=True, slots=True)
class Timeout:
    pass


@dataclass(frozen=True, slots=True)
class LookupResult:
    found: bool
    customer_id: str | None = None
    segment: str | None = None
    masked_account: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    locked: bool = False  # too many failures (any call, any site): no retry, the PIN was not checked


IvrEvent = PromptDone | Digit | Timeout | LookupResult | VerifyResult | FetchResult


# ---- effects -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlayPrompt:
    node_id: str
    language: str
    text: str | None
    audio: str | None = None


@dataclass(frozen=True, slots=True)
class CollectDigits:
    node_id: str
    max_digits: int
    terminator: str | None
    timeout_s: float
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class LookupRequest:
    node_id: str
    by: str
    key: str | None


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    node_id: str
    verifier: str
    secret: Secret


@dataclass(frozen=True, slots=True)
class SetCallData:
    section: str  # "collected", "attributes" or "call" (see site_node.call.CallData)
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class AddCallAction:
    action: str


@dataclass(frozen=True, slots=True)
class EnqueueCall:
    queue: str
    skill: str
    priority: int
    hold_prompt: PlayPrompt | None = None


@dataclass(frozen=True, slots=True)
class TransferCall:
    kind: str  # return_to_agent | number | site | queue
    target: str


@dataclass(frozen=True, slots=True)
class StartVoicemail:
    mailbox: str
    max_s: float


@dataclass(frozen=True, slots=True)
class RequestCallback:
    number: str | None


@dataclass(frozen=True, slots=True)
class HangupCall:
    reason: str


Effect = (PlayPrompt | CollectDigits | LookupRequest | VerifyRequest | SetCallData
          | AddCallAction | EnqueueCall | TransferCall | StartVoicemail | RequestCallback
          | HangupCall | FetchRequest)


# ---- position ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Position:
    """Where one call is in its flow version. Immutable; each step returns a new one."""

    flow_id: str
    version: int
    node_id: str
    phase: str  # playing | menu | collect | sensitive | lookup | verify | announce | done
    language: str
    vars: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    buffer: str = ""
    secret: Secret | None = None

    @property
    def done(self) -> bool:
        return self.phase == "done"

    @property
    def sensitive(self) -> bool:
        """True while digits are sensitive: the driver must not log or record them."""
        return self.phase in ("sensitive", "verify")

    def to_record(self) -> dict[str, Any]:
        """JSON-safe; never contains the sensitive buffer."""
        return {"flow_id": self.flow_id, "version": self.version, "node_id": self.node_id,
                "phase": self.phase, "language": self.language, "vars": dict(self.vars),
                "attempts": self.attempts, "buffer": self.buffer}


@dataclass(frozen=True, slots=True)
class Step:
    position: Position
    effects: tuple[Effect, ...]


# ---- the machine -------------------------------------------------------------------------
def start(flow: Flow, now: float, *, language: str | None = None,
          vars: dict[str, Any] | None = None) -> Step:
    """Start ``flow`` for a call. ``vars``: caller_number, dialled_number, segment, ..."""
    lang = language if language in flow.languages else flow.default_language
    pos = Position(flow.id, flow.version, flow.start, "start", lang, dict(vars or {}))
    effects: list[Effect] = []
    return Step(_enter(flow, pos, flow.start, effects, now), tuple(effects))


def step(flow: Flow, pos: Position, event: IvrEvent, now: float) -> Step:
    """Feed one event to the call's position in the flow version it started with."""
    if (flow.id, flow.version) != (pos.flow_id, pos.version):
        raise UnexpectedEvent(f"position is in {pos.flow_id} v{pos.version}, "
                              f"not {flow.id} v{flow.version}")
    node = flow.node(pos.node_id)
    effects: list[Effect] = []
    new = _handle(flow, node, pos, event, effects, now)
    return Step(new, tuple(effects))


def _unexpected(pos: Position, event: IvrEvent) -> UnexpectedEvent:
    return UnexpectedEvent(
        f"ivr node {pos.node_id!r} ({pos.phase}) cannot take {type(event).__name__}",
        node_id=pos.node_id, phase=pos.phase,
    )


def _prompt(node_id: str, prompt: Prompt | None, lang: str) -> PlayPrompt | None:
    if prompt is None:
        return None
    return PlayPrompt(node_id, lang, prompt.text.get(lang), prompt.audio.get(lang))


def _menu_prompt(node: Node, lang: str, retry: bool) -> PlayPrompt:
    parts = []
    if retry and node.spec.get("invalid") is not None:
        parts.append(node.spec["invalid"].text.get(lang, ""))
    intro = node.spec.get("intro")
    if intro is not None and intro.text:
        parts.append(intro.text.get(lang, ""))
    parts += [menu_sentence(o["function"][lang], o["digit"], lang) for o in node.spec["options"]]
    return PlayPrompt(node.id, lang, " ".join(p for p in parts if p))


def _ask(node: Node, pos: Position, effects: list[Effect], retry: bool = False) -> Position:
    """(Re)play the node's question and start collecting digits."""
    spec, lang = node.spec, pos.language
    if node.type in ("menu", "callback_offer"):
        effects.append(_menu_prompt(node, lang, retry))
        effects.append(CollectDigits(node.id, 1, None, spec["timeout_s"]))
        return replace(pos, phase="menu", buffer="", secret=None)
    sensitive = node.type == "sensitive_collect"
    if retry and spec.get("invalid") is not None:
        effects.append(_prompt(node.id, spec["invalid"], lang))  # type: ignore[arg-type]
    effects.append(_prompt(node.id, spec["prompt"], lang))  # type: ignore[arg-type]
    effects.append(CollectDigits(node.id, spec["digits"], spec["terminator"], spec["timeout_s"],
                                 sensitive))
    if sensitive:
        return replace(pos, phase="sensitive", buffer="", secret=Secret())
    return replace(pos, phase="collect", buffer="", secret=None)


def _retry_or_fail(flow: Flow, node: Node, pos: Position, effects: list[Effect],
                   now: float) -> Position:
    if pos.attempts < node.spec["retries"]:
        return _ask(node, replace(pos, attempts=pos.attempts + 1), effects, retry=True)
    return _enter(flow, pos, node.spec["on_fail"], effects, now)


def _handle(flow: Flow, node: Node, pos: Position, event: IvrEvent, effects: list[Effect],
            now: float) -> Position:
    phase, spec = pos.phase, node.spec
    if phase in PHASE_HANDLERS:
        return PHASE_HANDLERS[phase](flow, node, pos, event, effects, now, _enter)  # type: ignore[no-any-return]
    if phase == "playing" and isinstance(event, PromptDone):
        return _enter(flow, pos, spec["next"], effects, now)
    if phase == "announce" and isinstance(event, PromptDone):
        return _finish(node, pos, effects)
    if phase in ("menu", "collect", "sensitive") and isinstance(event, PromptDone):
        return pos  # the question was played; keep waiting for digits
    if phase in ("playing", "announce", "lookup", "verify") and isinstance(event, Digit):
        return pos  # no type-ahead: a stray key (e.g. '#' after a full PIN) is dropped
    if phase == "menu" and isinstance(event, Digit):
        for option in spec["options"]:
            if option["digit"] == event.digit:
                if node.type == "callback_offer" and option["digit"] == "1":
                    effects.append(RequestCallback(pos.vars.get("caller_number")))
                    effects.append(SetCallData("attributes", "callback_offered", True))
                return _enter(flow, pos, option["next"], effects, now)
        return _retry_or_fail(flow, node, pos, effects, now)
    if phase == "menu" and isinstance(event, Timeout):
        return _retry_or_fail(flow, node, pos, effects, now)
    if phase in ("collect", "sensitive") and isinstance(event, Digit):
        return _collect_digit(flow, node, pos, event.digit, effects, now)
    if phase in ("collect", "sensitive") and isinstance(event, Timeout):
        return _retry_or_fail(flow, node, pos, effects, now)
    if phase == "lookup" and isinstance(event, LookupResult):
        return _lookup_result(flow, node, pos, event, effects, now)
    if phase == "verify" and isinstance(event, VerifyResult):
        vars = {**pos.vars, "verified": event.ok}
        effects.append(SetCallData("call", "verified", event.ok))
        # the agent is told "locked", never what was typed
        effects.append(SetCallData("attributes", "verification_locked", event.locked))
        pos = replace(pos, vars=vars, secret=None)
        if event.ok:
            return _enter(flow, pos, spec["next"], effects, now)
        if event.locked:  # no retry: the PIN was not even checked
            return _enter(flow, pos, spec.get("on_locked") or spec["on_fail"], effects, now)
        return _retry_or_fail(flow, node, pos, effects, now)
    raise _unexpected(pos, event)


def _collect_digit(flow: Flow, node: Node, pos: Position, digit: str, effects: list[Effect],
                   now: float) -> Position:
    spec = node.spec
    terminated = digit == spec["terminator"]
    if pos.phase == "sensitive":
        secret = pos.secret or Secret()
        if not terminated:
            secret = secret + digit
        if terminated or len(secret) >= spec["digits"]:
            effects.append(VerifyRequest(node.id, spec["verifier"], secret))
            return replace(pos, phase="verify", secret=None)
        return replace(pos, secret=secret)
    buffer = pos.buffer if terminated else pos.buffer + digit
    if not terminated and len(buffer) < spec["digits"]:
        return replace(pos, buffer=buffer)
    if len(buffer) < spec["min_digits"]:
        return _retry_or_fail(flow, node, replace(pos, buffer=""), effects, now)
    var = spec["var"]
    if spec["store"]:
        effects.append(SetCallData("collected", var, buffer))
    pos = replace(pos, buffer="", vars={**pos.vars, var: buffer})
    return _enter(flow, pos, spec["next"], effects, now)


def _lookup_result(flow: Flow, node: Node, pos: Position, result: LookupResult,
                   effects: list[Effect], now: float) -> Position:
    vars = dict(pos.vars)
    var = node.spec.get("var")
    if var and not vars.get("_store_" + var, True):
        vars.pop(var, None)
    vars["found"] = result.found
    if not result.found:
        return _enter(flow, replace(pos, vars=vars), node.spec["on_not_found"], effects, now)
    for key, value in (("customer_id", result.customer_id), ("segment", result.segment),
                       ("masked_account", result.masked_account)):
        if value is not None:
            vars[key] = value
            effects.append(SetCallData("call", key, value))
    for key, value in result.attributes.items():
        effects.append(SetCallData("attributes", key, value))
    return _enter(flow, replace(pos, vars=vars), node.spec["next"], effects, now)


def _finish(node: Node, pos: Position, effects: list[Effect]) -> Position:
    """Terminal nodes: hand the call over and end the flow."""
    spec = node.spec
    if node.type == "queue":
        effects.append(EnqueueCall(spec["queue"], spec["skill"], spec["priority"],
                                   _prompt(node.id, spec["prompt"], pos.language)))
    elif node.type == "transfer":
        effects.append(TransferCall(spec["kind"], spec["target"]))
    elif node.type == "voicemail":
        effects.append(StartVoicemail(spec["mailbox"], spec["max_s"]))
    else:
        effects.append(HangupCall(spec["reason"]))
    return replace(pos, phase="done", secret=None, buffer="")


def _matches(flow: Flow, when: dict[str, Any], vars: dict[str, Any], lang: str,
             now: float) -> bool:
    local = flow.local_time(now)
    for key, want in when.items():
        if key == "segment":
            options = want if isinstance(want, list) else [want]
            if vars.get("segment") not in options:
                return False
        elif key in ("verified", "found"):
            if bool(vars.get(key, False)) != bool(want):
                return False
        elif key == "identified":  # the caller is a known customer (by number or a look-up)
            if bool(vars.get("customer_id")) != bool(want):
                return False
        elif key == "var":
            if str(vars.get(want)) != str(when["equals"]):
                return False
        elif key == "time":
            begin, end = want
            if not begin <= local.time().replace(tzinfo=None) < end:
                return False
        elif key == "days":
            if DAYS[local.weekday()] not in want:
                return False
        elif key == "holiday":
            if (local.date() in flow.holidays) != bool(want):
                return False
        elif key == "language" and lang != want:
            return False
    return True


def _enter(flow: Flow, pos: Position, node_id: str, effects: list[Effect],
           now: float) -> Position:
    """Run non-waiting nodes until one waits for an event or the flow ends."""
    for _ in range(MAX_AUTO_STEPS):
        node = flow.node(node_id)
        _log.debug("ivr %s v%s node %s -> %s", flow.id, flow.version, pos.node_id, node_id)
        pos = replace(pos, node_id=node_id, attempts=0, buffer="", secret=None)
        spec, lang = node.spec, pos.language
        kind = node.type
        if kind in NODE_ENTER:
            return NODE_ENTER[kind](flow, node, pos, effects, now, _enter)  # type: ignore[no-any-return]
        if kind == "play":
            effects.append(_prompt(node.id, spec["prompt"], lang))  # type: ignore[arg-type]
            return replace(pos, phase="playing")
        if kind in ("menu", "callback_offer", "collect", "sensitive_collect"):
            if kind == "collect":
                pos = replace(pos, vars={**pos.vars, "_store_" + spec["var"]: spec["store"]})
            return _ask(node, pos, effects)
        if kind == "lookup":
            key = pos.vars.get("caller_number") if spec["by"] == "caller_number" \
                else pos.vars.get(spec["var"])
            effects.append(LookupRequest(node.id, spec["by"], None if key is None else str(key)))
            return replace(pos, phase="lookup")
        if kind == "set":
            vars = dict(pos.vars)
            for key, value in spec["values"].items():
                vars[key] = value
                effects.append(SetCallData("attributes", key, value))
            if spec["action"]:
                effects.append(AddCallAction(str(spec["action"])))
            if spec["language"]:
                pos = replace(pos, language=spec["language"])
                effects.append(SetCallData("call", "language", spec["language"]))
            pos = replace(pos, vars=vars)
            node_id = spec["next"]
            continue
        if kind == "condition":
            node_id = spec["default"]
            for branch in spec["branches"]:
                if _matches(flow, branch["when"], pos.vars, lang, now):
                    node_id = branch["next"]
                    break
            continue
        # terminal nodes: queue, transfer, voicemail, hangup (announce first if prompted)
        announce = _prompt(node.id, spec.get("prompt"), lang) if kind != "queue" else None
        if announce is not None:
            effects.append(announce)
            return replace(pos, phase="announce")
        return _finish(node, pos, effects)
    raise FlowLoop(f"flow {flow.id} v{flow.version}: more than {MAX_AUTO_STEPS} steps "
                   f"without waiting (at node {node_id!r})", node_id=node_id)
