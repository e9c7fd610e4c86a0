"""IVR flow validation, versioning, per-segment selection, sensitive data, demo flows."""

from __future__ import annotations

import json
import logging
import pickle
from typing import Any

import pytest

from site_node.call import Call, SetData, StartIvr, to_cdr, to_record
from site_node.ivr import (
    Digit,
    EnqueueCall,
    FlowRegistry,
    InvalidFlow,
    LookupResult,
    PlayPrompt,
    PromptDone,
    SetCallData,
    StartVoicemail,
    TransferCall,
    UnknownFlow,
    VerifyRequest,
    VerifyResult,
    flow_from_text,
    load_demo_registry,
    parse_flow,
    start,
    step,
)

from .ivr_helpers import NATIONAL_DAY, WEEKDAY_10AM, WEEKDAY_11PM, flow, texts

PLAY = {"id": "hi", "type": "play", "prompt": texts("Hello"), "next": "bye"}
BYE = {"id": "bye", "type": "hangup"}


def base(*nodes: dict[str, Any], **top: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": "broken", "languages": ["en", "zh"], "start": "hi",
                           "nodes": [PLAY, BYE, *nodes]}
    raw.update(top)
    return raw


BROKEN: list[tuple[dict[str, Any], str | None, str]] = [
    (base({"id": "x", "type": "dance", "next": "bye"}), "x", "unknown node type"),
    (base({"id": "x", "type": "play", "next": "bye"}), "x", "prompt is required"),
    (base({"id": "x", "type": "play", "prompt": {"en": "only english"}, "next": "bye"}), "x",
     "no text for language(s) zh"),
    (base({"id": "x", "type": "play", "prompt": texts("a"), "next": "nowhere"}), "x",
     "missing node 'nowhere'"),
    (base({"id": "x", "type": "play", "prompt": texts("a"), "next": "bye", "colour": 1}), "x",
     "unknown field(s) colour"),
    (base({"id": "x", "type": "menu", "on_fail": "bye",
           "options": [{"digit": "1", "function": texts("Press 1 for balance"),
                        "next": "bye"}]}), "x", "function only"),
    (base({"id": "x", "type": "menu", "on_fail": "bye",
           "options": [{"digit": "1", "function": {"en": "balance", "zh": "余额请按1"},
                        "next": "bye"}]}), "x", "function only"),
    (base({"id": "x", "type": "menu", "on_fail": "bye",
           "options": [{"digit": "1", "function": texts("a"), "next": "bye"},
                       {"digit": "1", "function": texts("b"), "next": "bye"}]}), "x",
     "digit 1 is used twice"),
    (base({"id": "x", "type": "menu", "on_fail": "bye",
           "options": [{"digit": "12", "function": texts("a"), "next": "bye"}]}), "x",
     "not one key"),
    (base({"id": "x", "type": "menu", "options": [], "on_fail": "bye"}), "x", "non-empty"),
    (base({"id": "x", "type": "collect", "var": "pin", "digits": 4, "prompt": texts("p"),
           "next": "bye", "on_fail": "bye"}), "x", "sensitive"),
    (base({"id": "x", "type": "collect", "var": "n", "digits": 0, "prompt": texts("p"),
           "next": "bye", "on_fail": "bye"}), "x", "digits must be"),
    (base({"id": "x", "type": "sensitive_collect", "verifier": "pin", "digits": 4,
           "terminator": "5", "prompt": texts("p"), "next": "bye", "on_fail": "bye"}), "x",
     "terminator"),
    (base({"id": "x", "type": "lookup", "by": "email", "next": "bye",
           "on_not_found": "bye"}), "x", "lookup by 'email'"),
    (base({"id": "x", "type": "lookup", "by": "account", "next": "bye",
           "on_not_found": "bye"}), "x", "needs var"),
    (base({"id": "x", "type": "condition", "default": "bye",
           "branches": [{"when": {"weather": "sunny"}, "next": "bye"}]}), "x",
     "unknown condition(s) weather"),
    (base({"id": "x", "type": "condition", "default": "bye",
           "branches": [{"when": {"time": {"from": "25:00", "to": "26:00"}}, "next": "bye"}]}),
     "x", "HH:MM"),
    (base({"id": "x", "type": "condition", "default": "bye",
           "branches": [{"when": {"days": ["funday"]}, "next": "bye"}]}), "x", "days"),
    (base({"id": "x", "type": "set", "values": {"password": "x"}, "next": "bye"}), "x",
     "sensitive"),
    (base({"id": "x", "type": "set", "language": "fr", "next": "bye"}), "x", "language"),
    (base({"id": "x", "type": "transfer", "target": "moon:1"}), "x", "target"),
    (base({"id": "x", "type": "queue", "skill": "s"}), "x", "missing queue"),
    (base({"id": "x", "type": "voicemail", "mailbox": "m", "max_s": -1}), "x", "max_s"),
    (base({"id": "l1", "type": "set", "next": "l2"}, {"id": "l2", "type": "condition",
           "default": "l1", "branches": [{"when": {"found": True}, "next": "bye"}]}), "l1",
     "loop"),
    (base({"id": "hi", "type": "hangup"}), "hi", "duplicate node id"),
    (base(start="ghost"), None, "start node 'ghost'"),
    (base(timezone="Mars/Olympus"), None, "unknown timezone"),
    (base(holidays=["not-a-date"]), None, "holiday"),
    (base(languages=[]), None, "languages"),
    (base(colour="red"), None, "unknown flow field(s) colour"),
    ({"languages": ["en"], "start": "a", "nodes": []}, None, "string id"),
]


@pytest.mark.parametrize(("raw", "node_id", "problem"), BROKEN,
                         ids=[f"{i}-{p[:20]}" for i, (_, _, p) in enumerate(BROKEN)])
def test_validation_errors_name_the_node(raw: dict[str, Any], node_id: str | None,
                                         problem: str) -> None:
    with pytest.raises(InvalidFlow) as info:
        parse_flow(raw)
    err = info.value
    assert err.error_id == "ivr.invalid_flow" and err.status == 400
    assert err.node_id == node_id
    if node_id is not None:
        assert f"node {node_id!r}" in err.message
    assert problem in err.message


def test_flow_from_yaml_and_json_text() -> None:
    yaml_text = """
id: tiny
languages: [en]
start: bye
nodes:
  - {id: bye, type: hangup, reason: done}
"""
    assert flow_from_text(yaml_text).nodes["bye"].spec["reason"] == "done"
    as_json = json.dumps({"id": "tiny", "start": "bye", "nodes": [{"id": "bye",
                                                                    "type": "hangup"}]})
    assert flow_from_text(as_json, fmt="json", version=4).version == 4
    with pytest.raises(InvalidFlow):
        flow_from_text("id: [unclosed")
    with pytest.raises(InvalidFlow):
        flow_from_text("- a list")


def raw_flow(greeting: str) -> dict[str, Any]:
    return {"id": "retail", "languages": ["en"], "start": "hi",
            "nodes": [{"id": "hi", "type": "play", "prompt": greeting, "next": "bye"},
                      {"id": "bye", "type": "hangup"}]}


def test_versioning_in_progress_call_keeps_its_version() -> None:
    registry = FlowRegistry()
    v1 = registry.publish(raw_flow("Welcome (v1)"))
    registry.bind("95588", "retail")
    old_call = start(registry.select("95588"), WEEKDAY_10AM)
    v2 = registry.publish(raw_flow("Welcome (v2)"))
    assert (v1.version, v2.version, registry.versions("retail")) == (1, 2, [1, 2])
    new_call = start(registry.select("95588"), WEEKDAY_10AM)
    assert old_call.effects[0] == PlayPrompt("hi", "en", "Welcome (v1)")
    assert new_call.effects[0] == PlayPrompt("hi", "en", "Welcome (v2)")
    assert old_call.position.version == 1 and new_call.position.version == 2
    held = registry.get("retail", old_call.position.version)  # e.g. after a restart
    assert held is v1 and step(held, old_call.position, PromptDone(), WEEKDAY_10AM).position.done
    with pytest.raises(Exception, match="not retail v2"):
        step(v2, old_call.position, PromptDone(), WEEKDAY_10AM)


def test_a_broken_new_version_is_refused_and_the_old_stays() -> None:
    registry = FlowRegistry()
    registry.publish(raw_flow("ok"))
    broken = raw_flow("x")
    broken["nodes"][0]["next"] = "nowhere"
    with pytest.raises(InvalidFlow):
        registry.publish(broken)
    assert registry.versions("retail") == [1]


def test_selection_per_dialled_number_and_segment() -> None:
    registry = FlowRegistry()
    registry.publish(raw_flow("retail"))
    registry.publish({**raw_flow("vip"), "id": "vip"})
    registry.bind("95588", "retail")
    registry.bind("95588", "vip", segment="vip")
    assert registry.select("95588").id == "retail"
    assert registry.select("95588", "vip").id == "vip"
    assert registry.select("95588", "mass").id == "retail"
    with pytest.raises(UnknownFlow) as info:
        registry.select("12345")
    assert info.value.error_id == "ivr.unknown_flow"
    with pytest.raises(UnknownFlow):
        registry.bind("1", "ghost")
    with pytest.raises(UnknownFlow):
        registry.get("retail", 9)


PIN = "738291"


def test_sensitive_value_never_leaves_the_verifier(caplog: pytest.LogCaptureFixture) -> None:
    registry = load_demo_registry()
    f = registry.latest("pin_verify")
    call = Call("call-s", site="a", caller_number="13800000000", dialled_number="95588",
                now=WEEKDAY_10AM)
    call.apply(StartIvr(f.id, f.version), WEEKDAY_10AM)
    seen: list[Any] = []
    requests: list[VerifyRequest] = []
    with caplog.at_level(logging.DEBUG):
        s = start(f, WEEKDAY_10AM, vars={"customer_id": "c-1"})
        seen += [s.effects, s.position, s.position.to_record()]
        pos = s.position
        for event in [*(Digit(d) for d in PIN), Digit("#")]:
            s = step(f, pos, event, WEEKDAY_10AM)
            pos = s.position
            seen += [s.effects, pos, pos.to_record(), event]
            requests += [e for e in s.effects if isinstance(e, VerifyRequest)]
        s = step(f, pos, VerifyResult(True), WEEKDAY_10AM)
        seen += [s.effects, s.position, s.position.to_record()]
        for effect in s.effects:
            if isinstance(effect, SetCallData):
                call.apply(SetData(effect.section, effect.key, effect.value), WEEKDAY_10AM)
    assert [r.secret.reveal() for r in requests] == [PIN]  # the verifier alone sees it
    assert call.data.verified is True
    dumped = [repr(x) for x in seen] + [str(x) for x in seen]
    dumped += [json.dumps(to_record(call)), json.dumps(to_cdr(call))]
    dumped += [json.dumps(x) for x in seen if isinstance(x, dict)]
    dumped += [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    for text in dumped:
        assert PIN not in text
    with pytest.raises(TypeError):
        json.dumps({"verifier": requests[0].verifier, "secret": requests[0].secret})


def test_secret_cannot_be_serialised_or_pickled() -> None:
    f = flow({"id": "pin", "type": "sensitive_collect", "verifier": "pin", "digits": 2,
              "prompt": texts("PIN"), "next": "bye", "on_fail": "bye"}, BYE)
    s = start(f, WEEKDAY_10AM)
    s = step(f, step(f, s.position, Digit("4"), WEEKDAY_10AM).position, Digit("2"),
             WEEKDAY_10AM)
    (request,) = s.effects
    assert isinstance(request, VerifyRequest)
    assert repr(request.secret) == "Secret(***)" and "42" not in str(request)
    with pytest.raises(TypeError):
        json.dumps({"secret": request.secret})
    with pytest.raises(TypeError):
        pickle.dumps(request.secret)


def drive(flow_id: str, now: float, events: list[Any], **kwargs: Any) -> list[Any]:
    f = load_demo_registry().latest(flow_id)
    s = start(f, now, **kwargs)
    effects = list(s.effects)
    for event in events:
        s = step(f, s.position, event, now)
        effects += s.effects
    assert s.position.done
    return effects


def test_demo_registry_routes() -> None:
    registry = load_demo_registry()
    assert set(registry.flow_ids()) >= {"retail_banking", "credit_cards", "loans", "vip_line",
                                        "pin_verify", "terms_readout"}
    assert registry.select("95588").id == "retail_banking"
    assert registry.select("95588", "vip").id == "vip_line"
    assert registry.select("95589").id == "credit_cards"
    assert registry.select("95590").id == "loans"


def test_demo_retail_vip_caller_in_office_hours() -> None:
    effects = drive("retail_banking", WEEKDAY_10AM,
                    [PromptDone(), LookupResult(True, "c-1", "vip", "****8888")],
                    vars={"caller_number": "13800000000"})
    assert effects[-1] == EnqueueCall("vip", "vip", 10, effects[-1].hold_prompt)


@pytest.mark.parametrize("now", [WEEKDAY_11PM, NATIONAL_DAY])
def test_demo_retail_closed_goes_to_voicemail(now: float) -> None:
    effects = drive("retail_banking", now, [PromptDone(), PromptDone()], language="zh")
    assert isinstance(effects[1], PlayPrompt) and effects[1].language == "zh"
    assert effects[-1] == StartVoicemail("retail", 120)


def test_demo_retail_balance_with_pin_then_agent() -> None:
    effects = drive("retail_banking", WEEKDAY_10AM,
                    [PromptDone(), LookupResult(False), Digit("1"),
                     *(Digit(d) for d in PIN), VerifyResult(True), PromptDone(), Digit("0")],
                    vars={"caller_number": "13800000000"})
    menu = next(e for e in effects if isinstance(e, PlayPrompt) and e.node_id == "main_menu")
    assert "For your account balance, press 1." in (menu.text or "")
    assert effects[-1] == EnqueueCall("retail", "retail", 0, effects[-1].hold_prompt)


def test_demo_cards_lost_card_is_urgent_and_pin_flow_returns_to_agent() -> None:
    effects = drive("credit_cards", WEEKDAY_10AM, [PromptDone(), LookupResult(False), Digit("1")])
    assert effects[-1] == EnqueueCall("credit_card", "credit_card", 5, None)
    effects = drive("pin_verify", WEEKDAY_10AM,
                    [*(Digit(d) for d in "000000"), VerifyResult(False),
                     *(Digit(d) for d in PIN), VerifyResult(True), PromptDone()],
                    vars={"customer_id": "c-1"})
    assert effects[-1] == TransferCall("return_to_agent", "")
    assert SetCallData("call", "verified", True) in effects


def test_pin_verify_identifies_an_unknown_caller_by_customer_number_first() -> None:
    effects = drive("pin_verify", WEEKDAY_10AM,
                    [*(Digit(d) for d in "10000007"), LookupResult(True, "c-7", "retail", "**** 1234"),
                     *(Digit(d) for d in PIN), VerifyResult(True), PromptDone()],
                    vars={"customer_id": None})
    asked = [e.node_id for e in effects if isinstance(e, PlayPrompt)]
    assert asked[:2] == ["ask_customer_number", "ask_pin"]
    assert SetCallData("call", "customer_id", "c-7") in effects  # the verifier checks this customer
    assert SetCallData("call", "verified", True) in effects
    assert effects[-1] == TransferCall("return_to_agent", "")
    unknown = drive("pin_verify", WEEKDAY_10AM,
                    [*(Digit(d) for d in "99999999"), LookupResult(False), PromptDone()])
    assert not any(isinstance(e, PlayPrompt) and e.node_id == "ask_pin" for e in unknown)
    assert SetCallData("call", "verified", True) not in unknown
    assert unknown[-1] == TransferCall("return_to_agent", "")


def test_demo_loans_and_terms() -> None:
    effects = drive("loans", WEEKDAY_10AM, [PromptDone(), LookupResult(False), Digit("3")])
    assert SetCallData("attributes", "loan_topic", "repayments") in effects
    assert effects[-1] == EnqueueCall("loans", "loans", 0, None)
    effects = drive("terms_readout", WEEKDAY_10AM, [PromptDone(), Digit("1")])
    assert SetCallData("attributes", "terms_accepted", True) in effects
    assert effects[-1] == TransferCall("return_to_agent", "")
