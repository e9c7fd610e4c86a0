"""Self-service nodes over central's resource engine: ``fetch``, ``say`` and ``confirm``.

::

    - {id: balance, type: fetch, fields: [checking_balance, checking_last_four],
       inputs: {customer_number: customer_id}, store: [checking_balance],
       outcome: "self-service: balance read out", next: read, on_error: agent}
    - {id: read, type: say, next: menu,
       text: {en: "Your balance is {checking_balance:amount:EUR}.", zh: "您的余额是{checking_balance:amount:EUR}。"}}
    - {id: sure, type: confirm, on_yes: send, on_no: menu, on_fail: agent,
       text: {en: "Transfer {amount:amount:EUR}?", zh: "转账{amount:amount:EUR}？"}}

``fetch`` asks the driver (:class:`FetchRequest`) to resolve ``fields`` with ``inputs`` (field
input name -> call variable; ``{var: x, as: number}`` turns typed digits into a number). The
answer (:class:`FetchResult`) goes into the call's variables; ``store`` names the fields that
also go into the call data (the screen pop and the CDR), and ``outcome`` is recorded as an
action (the contact history). A field that failed (timeout, back-office error, malformed
answer) plays ``prompt`` ("this service is not available right now") and takes ``on_error``;
a request the back office refused (e.g. over the daily limit) takes ``on_refused`` with
``refusal`` set to the reason (``limit_exceeded``) when the node has one. The call never ends
because a back office failed. ``confirm`` reads its text and takes 1 (yes), 2 (no) or 9 (hear
it again). Everything here is pure; the driver does the I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from site_node.call.data import is_sensitive_key

from . import interpreter as _i
from .flow import NODE_PARSERS, Flow, Node, Prompt, menu_sentence
from .readout import ReadoutError, check_template, render
from .selfservice_events import FetchRequest, FetchResult

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
UNAVAILABLE = {"en": "Sorry, this service is not available right now.", "zh": "抱歉，该服务暂时无法使用。"}
CONFIRM_WORDS = {
    "en": (("1", "confirm"), ("2", "cancel"), ("9", "hear this again")),
    "zh": (("1", "确认"), ("2", "取消"), ("9", "重听")),
}
Enter = Callable[[Flow, _i.Position, str, list[Any], float], _i.Position]


# ---- parsing (called by flow._Parser) --------------------------------------------------------
def _template(p: Any, nid: str, name: str, value: Any) -> dict[str, str]:
    texts = dict(p.texts(nid, name, value))
    for lang, text in texts.items():
        try:
            check_template(text)
        except ReadoutError as exc:
            raise p.fail(nid, f"{name} ({lang}): {exc}") from exc
    return texts


def _fetch(p: Any, nid: str, item: dict[str, Any], spec: dict[str, Any]) -> None:
    fields = item["fields"]
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and FIELD_NAME.fullmatch(f)
                                                             for f in fields):  # fmt: skip
        raise p.fail(nid, "fields must be a non-empty list of field names")
    inputs: dict[str, tuple[str, str]] = {}
    raw_inputs = item.get("inputs", {})
    if not isinstance(raw_inputs, dict):
        raise p.fail(nid, "inputs must map a field input to a call variable")
    for name, source in raw_inputs.items():
        var, kind = (source, "text") if isinstance(source, str) else (
            (source.get("var"), source.get("as", "text")) if isinstance(source, dict) else (None, None))  # fmt: skip
        if not isinstance(var, str) or not FIELD_NAME.fullmatch(var) or kind not in ("text", "number"):
            raise p.fail(nid, f"inputs.{name}: a call variable name, or {{var: name, as: text|number}}")
        inputs[str(name)] = (var, str(kind))
    store = item.get("store", [])
    if not isinstance(store, list) or not set(store) <= set(fields):
        raise p.fail(nid, "store must list some of the node's fields")
    for name in store:
        if is_sensitive_key(name):
            raise p.fail(nid, f"store: {name!r} is sensitive and never goes into call data")
    outcome = item.get("outcome")
    if outcome is not None and (not isinstance(outcome, str) or not outcome.strip()):
        raise p.fail(nid, "outcome must be a text")
    if outcome is not None:
        try:
            check_template(outcome)
        except ReadoutError as exc:
            raise p.fail(nid, f"outcome: {exc}") from exc
    prompt = item.get("prompt") or {lang: UNAVAILABLE.get(lang, UNAVAILABLE["en"]) for lang in p.languages}
    spec.update(fields=tuple(fields), inputs=inputs, store=tuple(store), outcome=outcome,
                prompt=Prompt(text=p.texts(nid, "prompt", prompt)))  # fmt: skip


def _say(p: Any, nid: str, item: dict[str, Any], spec: dict[str, Any]) -> None:
    spec["text"] = _template(p, nid, "text", item["text"])


def _confirm(p: Any, nid: str, item: dict[str, Any], spec: dict[str, Any]) -> None:
    spec["text"] = _template(p, nid, "text", item["text"])
    spec["timeout_s"] = p.number(nid, item, "timeout_s", 5.0, low=0.5)
    spec["retries"] = p.number(nid, item, "retries", 2, integer=True)


NODE_PARSERS.update(fetch=_fetch, say=_say, confirm=_confirm)


# ---- stepping (called by the interpreter) ----------------------------------------------------
def _public(vars: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in vars.items() if not k.startswith("_")}


def _enter_fetch(flow: Flow, node: Node, pos: _i.Position, effects: list[Any], now: float,
                 enter: Enter) -> _i.Position:  # fmt: skip
    spec = node.spec
    vars = {k: v for k, v in pos.vars.items() if k != "refusal"}
    inputs: dict[str, Any] = {}
    for name, (var, kind) in spec["inputs"].items():
        value = vars.get(var)
        if kind == "number":
            try:
                value = float(value) if value is not None else None
            except (TypeError, ValueError):
                value = None
            if value is not None and value.is_integer():
                value = int(value)
        if value is None or value == "":
            return _failed(flow, node, replace(pos, vars=vars), effects, now, enter)  # nothing to ask with
        inputs[name] = value
    effects.append(FetchRequest(node.id, flow.id, spec["fields"], inputs))
    return replace(pos, phase="fetch", vars=vars)


def _failed(flow: Flow, node: Node, pos: _i.Position, effects: list[Any], now: float,
            enter: Enter) -> _i.Position:  # fmt: skip
    effects.append(_i.SetCallData("attributes", f"{node.id}_failed", True))
    effects.append(_i.PlayPrompt(node.id, pos.language, node.spec["prompt"].text.get(pos.language)))
    return replace(pos, phase="fetch_failed")


def _fetch_phase(flow: Flow, node: Node, pos: _i.Position, event: Any, effects: list[Any], now: float,
                 enter: Enter) -> _i.Position:  # fmt: skip
    spec = node.spec
    if isinstance(event, _i.Digit):
        return pos  # no type-ahead while the back office is asked
    if not isinstance(event, FetchResult):
        raise _i._unexpected(pos, event)
    if event.refusal is not None and spec.get("on_refused"):
        vars = {**pos.vars, "refusal": event.refusal}
        effects.append(_i.SetCallData("attributes", f"{node.id}_refused", event.refusal))
        effects.append(_i.AddCallAction(f"self-service {node.id}: refused ({event.refusal})"))
        return enter(flow, replace(pos, vars=vars), spec["on_refused"], effects, now)
    missing = [f for f in spec["fields"] if event.values.get(f) is None]
    if event.error is not None or event.refusal is not None or missing:
        return _failed(flow, node, pos, effects, now, enter)
    vars = {**pos.vars, **{f: event.values[f] for f in spec["fields"]}}
    for name in spec["store"]:
        value = event.values[name]
        if isinstance(value, str | int | float | bool):
            effects.append(_i.SetCallData("attributes", name, value))
    if spec["outcome"]:
        effects.append(_i.AddCallAction(render(spec["outcome"], _public(vars), "en")))
    return enter(flow, replace(pos, vars=vars), spec["next"], effects, now)


def _fetch_failed_phase(flow: Flow, node: Node, pos: _i.Position, event: Any, effects: list[Any], now: float,
                        enter: Enter) -> _i.Position:  # fmt: skip
    if isinstance(event, _i.PromptDone):
        return enter(flow, pos, node.spec["on_error"], effects, now)
    if isinstance(event, _i.Digit):
        return pos
    raise _i._unexpected(pos, event)


def _enter_say(flow: Flow, node: Node, pos: _i.Position, effects: list[Any], now: float,
               enter: Enter) -> _i.Position:  # fmt: skip
    text = render(node.spec["text"][pos.language], _public(pos.vars), pos.language)
    effects.append(_i.PlayPrompt(node.id, pos.language, text))  # synthesised for this call
    return replace(pos, phase="playing")


def confirm_text(node: Node, vars: dict[str, Any], language: str) -> str:
    """The read-out, then "To confirm, press 1. To cancel, press 2. To hear this again, press 9."."""
    words = CONFIRM_WORDS.get(language, CONFIRM_WORDS["en"])
    head = render(node.spec["text"][language], _public(vars), language)
    if language == "en":
        menu = " ".join(menu_sentence(w, d, language).replace("For ", "To ", 1) for d, w in words)
    else:
        menu = "".join(menu_sentence(w, d, language) for d, w in words)
    return f"{head} {menu}" if language == "en" else head + menu


def _ask_confirm(node: Node, pos: _i.Position, effects: list[Any]) -> _i.Position:
    effects.append(_i.PlayPrompt(node.id, pos.language, confirm_text(node, pos.vars, pos.language)))
    effects.append(_i.CollectDigits(node.id, 1, None, node.spec["timeout_s"]))
    return replace(pos, phase="confirm", buffer="")


def _enter_confirm(flow: Flow, node: Node, pos: _i.Position, effects: list[Any], now: float,
                   enter: Enter) -> _i.Position:  # fmt: skip
    return _ask_confirm(node, pos, effects)


def _confirm_phase(flow: Flow, node: Node, pos: _i.Position, event: Any, effects: list[Any], now: float,
                   enter: Enter) -> _i.Position:  # fmt: skip
    spec = node.spec
    if isinstance(event, _i.PromptDone):
        return pos
    if isinstance(event, _i.Digit) and event.digit in ("1", "2"):
        answer = event.digit == "1"
        effects.append(_i.SetCallData("attributes", f"{node.id}_confirmed", answer))
        return enter(flow, pos, spec["on_yes"] if answer else spec["on_no"], effects, now)
    if isinstance(event, _i.Digit) and event.digit == "9":
        return _ask_confirm(node, pos, effects)  # hear it again: not a failed attempt
    if isinstance(event, _i.Digit | _i.Timeout):
        if pos.attempts < spec["retries"]:
            return _ask_confirm(node, replace(pos, attempts=pos.attempts + 1), effects)
        return enter(flow, pos, spec["on_fail"], effects, now)
    raise _i._unexpected(pos, event)


_i.NODE_ENTER.update(fetch=_enter_fetch, say=_enter_say, confirm=_enter_confirm)
_i.PHASE_HANDLERS.update(fetch=_fetch_phase, fetch_failed=_fetch_failed_phase, confirm=_confirm_phase)
