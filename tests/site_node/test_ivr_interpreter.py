"""IVR interpreter: every node type, menu wording, conditions, unexpected events."""

from __future__ import annotations

from typing import Any

import pytest

from site_node.ivr import (
    AddCallAction,
    CollectDigits,
    Digit,
    EnqueueCall,
    HangupCall,
    LookupRequest,
    LookupResult,
    PlayPrompt,
    PromptDone,
    RequestCallback,
    SetCallData,
    StartVoicemail,
    Step,
    Timeout,
    TransferCall,
    UnexpectedEvent,
    VerifyRequest,
    VerifyResult,
    menu_sentence,
    start,
    step,
)

from .ivr_helpers import (
    NATIONAL_DAY,
    SATURDAY_10AM,
    WEEKDAY_10AM,
    WEEKDAY_11PM,
    flow,
    run,
    texts,
)

NOW = WEEKDAY_10AM
BYE = {"id": "bye", "type": "hangup"}


def test_play_then_next_and_audio_variant() -> None:
    f = flow({"id": "hi", "type": "play", "prompt": texts("Hello", "你好"),
              "audio": {"en": "hello_en.wav", "zh": "hello_zh.wav"}, "next": "bye"}, BYE)
    s = start(f, NOW, language="zh")
    assert s.effects == (PlayPrompt("hi", "zh", "你好", "hello_zh.wav"),)
    assert s.position.phase == "playing" and not s.position.done
    s2 = step(f, s.position, PromptDone(), NOW)
    assert s2.effects == (HangupCall("completed"),) and s2.position.done


def test_menu_wording_function_before_key_and_digit_choice() -> None:
    f = flow({"id": "m", "type": "menu", "intro": texts("Main menu."),
              "options": [{"digit": "1", "function": texts("balance", "余额查询"), "next": "a"},
                          {"digit": "#", "function": texts("an agent", "人工服务"),
                           "next": "b"}],
              "on_fail": "b"},
             {"id": "a", "type": "hangup", "reason": "a"},
             {"id": "b", "type": "hangup", "reason": "b"})
    s = start(f, NOW)
    assert s.effects[0] == PlayPrompt(
        "m", "en", "Main menu. For balance, press 1. For an agent, press pound.")
    assert s.effects[1] == CollectDigits("m", 1, None, 5.0)
    zh = start(f, NOW, language="zh").effects[0]
    assert isinstance(zh, PlayPrompt) and zh.text is not None
    assert "余额查询，请按1。" in zh.text and "人工服务，请按井号键。" in zh.text
    assert step(f, s.position, PromptDone(), NOW).effects == ()  # still waiting for a key
    assert step(f, s.position, Digit("#"), NOW).effects == (HangupCall("b"),)
    assert menu_sentence("balance", "1", "en") == "For balance, press 1."


def test_menu_invalid_and_timeout_retry_then_fail() -> None:
    f = flow({"id": "m", "type": "menu", "retries": 1, "invalid": texts("Sorry."),
              "options": [{"digit": "1", "function": texts("balance"), "next": "bye"}],
              "on_fail": "fail"},
             BYE, {"id": "fail", "type": "hangup", "reason": "menu_failed"})
    s = start(f, NOW)
    retry = step(f, s.position, Digit("7"), NOW)
    assert retry.effects[0] == PlayPrompt("m", "en", "Sorry. For balance, press 1.")
    assert retry.position.attempts == 1
    failed = step(f, retry.position, Timeout(), NOW)
    assert failed.effects == (HangupCall("menu_failed"),)


def test_collect_with_terminator_min_digits_and_store() -> None:
    f = flow({"id": "num", "type": "collect", "var": "customer_number", "digits": 8,
              "min_digits": 4, "prompt": texts("Enter your number."), "next": "bye",
              "on_fail": "bye", "retries": 1},
             BYE)
    s = start(f, NOW)
    assert s.effects[1] == CollectDigits("num", 8, "#", 8.0)
    steps = run(f, s.position, [Digit("1"), Digit("2"), Digit("#")], NOW)
    assert steps[-1].position.attempts == 1  # too short: asked again
    steps = run(f, steps[-1].position, [Digit(d) for d in "12345"] + [Digit("#")], NOW)
    assert steps[-1].effects == (SetCallData("collected", "customer_number", "12345"),
                                 HangupCall("completed"))


def test_collect_not_stored_is_only_used_for_the_lookup() -> None:
    f = flow({"id": "acct", "type": "collect", "var": "account", "digits": 4, "store": False,
              "prompt": texts("Account?"), "next": "look", "on_fail": "bye"},
             {"id": "look", "type": "lookup", "by": "account", "var": "account", "next": "bye",
              "on_not_found": "bye"},
             BYE)
    steps = run(f, start(f, NOW).position, [Digit(d) for d in "9876"], NOW)
    assert steps[-1].effects == (LookupRequest("look", "account", "9876"),)
    done = step(f, steps[-1].position, LookupResult(False), NOW)
    assert "account" not in done.position.vars


def test_sensitive_collect_verify_retry_and_fail() -> None:
    f = flow({"id": "pin", "type": "sensitive_collect", "verifier": "pin", "digits": 4,
              "retries": 1, "prompt": texts("PIN?"), "invalid": texts("Wrong."),
              "next": "ok", "on_fail": "ko"},
             {"id": "ok", "type": "hangup", "reason": "ok"},
             {"id": "ko", "type": "hangup", "reason": "ko"})
    s = start(f, NOW)
    assert s.effects[1] == CollectDigits("pin", 4, "#", 8.0, sensitive=True)
    assert s.position.sensitive
    steps = run(f, s.position, [Digit(d) for d in "4821"], NOW)
    (verify,) = steps[-1].effects
    assert isinstance(verify, VerifyRequest) and verify.secret.reveal() == "4821"
    assert verify.verifier == "pin" and steps[-1].position.phase == "verify"
    wrong = step(f, steps[-1].position, VerifyResult(False), NOW)
    assert wrong.effects[:2] == (SetCallData("call", "verified", False),
                                 SetCallData("attributes", "verification_locked", False))
    assert wrong.effects[2] == PlayPrompt("pin", "en", "Wrong.")
    steps = run(f, wrong.position, [Digit("1"), Digit("#")], NOW)  # terminator ends early
    assert isinstance(steps[-1].effects[0], VerifyRequest)
    assert steps[-1].effects[0].secret.reveal() == "1"
    failed = step(f, steps[-1].position, VerifyResult(False), NOW)
    assert failed.effects[-1] == HangupCall("ko")
    steps = run(f, s.position, [Digit(d) for d in "4821"] + [VerifyResult(True)], NOW)
    assert steps[-1].effects == (SetCallData("call", "verified", True),
                                 SetCallData("attributes", "verification_locked", False), HangupCall("ok"))
    assert steps[-1].position.vars["verified"] is True


@pytest.mark.parametrize("on_locked", [None, "locked"])
def test_a_locked_customer_gets_no_retry_and_the_agent_learns_locked(on_locked: str | None) -> None:
    node = {"id": "pin", "type": "sensitive_collect", "verifier": "pin", "digits": 4, "retries": 2,
            "prompt": texts("PIN?"), "invalid": texts("Wrong."), "next": "ok", "on_fail": "ko"}
    if on_locked:
        node["on_locked"] = on_locked
    f = flow(node, {"id": "ok", "type": "hangup", "reason": "ok"}, {"id": "ko", "type": "hangup", "reason": "ko"},
             {"id": "locked", "type": "hangup", "reason": "locked"})
    steps = run(f, start(f, NOW).position, [Digit(d) for d in "4821"], NOW)
    locked = step(f, steps[-1].position, VerifyResult(False, locked=True), NOW)
    assert locked.effects[:2] == (SetCallData("call", "verified", False),
                                  SetCallData("attributes", "verification_locked", True))
    assert locked.effects[-1] == HangupCall(on_locked or "ko")  # at once, although two retries were left


def test_lookup_found_sets_call_data() -> None:
    f = flow({"id": "look", "type": "lookup", "by": "caller_number", "next": "bye",
              "on_not_found": "bye"}, BYE)
    s = start(f, NOW, vars={"caller_number": "13800000000"})
    assert s.effects == (LookupRequest("look", "caller_number", "13800000000"),)
    found = step(f, s.position, LookupResult(True, "cust-1", "vip", "****1234",
                                             {"branch": "Pudong"}), NOW)
    assert found.effects == (
        SetCallData("call", "customer_id", "cust-1"), SetCallData("call", "segment", "vip"),
        SetCallData("call", "masked_account", "****1234"),
        SetCallData("attributes", "branch", "Pudong"), HangupCall("completed"))
    assert found.position.vars["segment"] == "vip" and found.position.vars["found"] is True


CONDITION_FLOW: list[dict[str, Any]] = [
    {"id": "c", "type": "condition", "default": "other",
     "branches": [
         {"when": {"holiday": True}, "next": "holiday"},
         {"when": {"segment": ["vip", "private"]}, "next": "vip"},
         {"when": {"var": "topic", "equals": "loans"}, "next": "loans"},
         {"when": {"verified": True, "language": "zh"}, "next": "verified_zh"},
         {"when": {"days": ["mon", "tue", "wed", "thu", "fri"],
                   "time": {"from": "08:00", "to": "20:00"}}, "next": "open"},
     ]},
    *({"id": n, "type": "hangup", "reason": n}
      for n in ("holiday", "vip", "loans", "verified_zh", "open", "other")),
]


@pytest.mark.parametrize(("now", "vars", "language", "reason"), [
    (NATIONAL_DAY, {"segment": "vip"}, "en", "holiday"),
    (WEEKDAY_11PM, {"segment": "private"}, "en", "vip"),
    (WEEKDAY_11PM, {"topic": "loans"}, "en", "loans"),
    (WEEKDAY_11PM, {"verified": True}, "zh", "verified_zh"),
    (WEEKDAY_11PM, {"verified": True}, "en", "other"),
    (WEEKDAY_10AM, {}, "en", "open"),
    (WEEKDAY_11PM, {}, "en", "other"),
    (SATURDAY_10AM, {}, "en", "other"),
])
def test_condition_branches(now: float, vars: dict, language: str, reason: str) -> None:
    f = flow(*CONDITION_FLOW, timezone="Asia/Shanghai", holidays=["2026-10-01"])
    assert start(f, now, vars=vars, language=language).effects == (HangupCall(reason),)


def test_set_values_action_and_language() -> None:
    f = flow({"id": "s", "type": "set", "values": {"topic": "cards", "urgent": True},
              "action": "chose cards", "language": "zh", "next": "p"},
             {"id": "p", "type": "play", "prompt": texts("Hi", "您好"), "next": "bye"}, BYE)
    s = start(f, NOW)
    assert s.effects == (SetCallData("attributes", "topic", "cards"),
                         SetCallData("attributes", "urgent", True),
                         AddCallAction("chose cards"), SetCallData("call", "language", "zh"),
                         PlayPrompt("p", "zh", "您好"))
    assert s.position.language == "zh" and s.position.vars["topic"] == "cards"


def test_queue_transfer_voicemail_and_hangup_terminals() -> None:
    q = flow({"id": "q", "type": "queue", "queue": "retail", "skill": "retail", "priority": 3,
              "prompt": texts("Please hold.")})
    s = start(q, NOW)
    assert s.effects == (EnqueueCall("retail", "retail", 3,
                                     PlayPrompt("q", "en", "Please hold.")),)
    assert s.position.done
    t = flow({"id": "t", "type": "transfer", "target": "number:95589",
              "prompt": texts("Transferring.")})
    s = start(t, NOW)
    assert s.effects == (PlayPrompt("t", "en", "Transferring."),)
    assert step(t, s.position, PromptDone(), NOW).effects == (TransferCall("number", "95589"),)
    back = flow({"id": "t", "type": "transfer", "target": "return_to_agent"})
    assert start(back, NOW).effects == (TransferCall("return_to_agent", ""),)
    v = flow({"id": "v", "type": "voicemail", "mailbox": "retail", "max_s": 60})
    assert start(v, NOW).effects == (StartVoicemail("retail", 60),)
    h = flow({"id": "h", "type": "hangup", "reason": "closed", "prompt": texts("Bye.")})
    s = start(h, NOW)
    assert step(h, s.position, PromptDone(), NOW).effects == (HangupCall("closed"),)


def test_callback_offer_accept_and_decline() -> None:
    f = flow({"id": "cb", "type": "callback_offer", "accept": "thanks", "decline": "wait"},
             {"id": "thanks", "type": "hangup", "reason": "callback_requested"},
             {"id": "wait", "type": "queue", "queue": "q", "skill": "s"})
    s = start(f, NOW, vars={"caller_number": "13900000000"})
    assert s.effects[0] == PlayPrompt(
        "cb", "en", "For a call back instead of waiting, press 1. For keep waiting, press 2.")
    accepted = step(f, s.position, Digit("1"), NOW)
    assert accepted.effects == (RequestCallback("13900000000"),
                                SetCallData("attributes", "callback_offered", True),
                                HangupCall("callback_requested"))
    declined = step(f, s.position, Digit("2"), NOW)
    assert declined.effects == (EnqueueCall("q", "s", 0, None),)


@pytest.mark.parametrize("event", [LookupResult(True), VerifyResult(True), Timeout()])
def test_unexpected_events_raise_stable_error(event: object) -> None:
    f = flow({"id": "hi", "type": "play", "prompt": texts("Hello"), "next": "bye"}, BYE)
    pos = start(f, NOW).position
    with pytest.raises(UnexpectedEvent) as info:
        step(f, pos, event, NOW)  # type: ignore[arg-type]
    assert info.value.error_id == "ivr.unexpected_event" and "'hi'" in info.value.message
    finished = step(f, pos, PromptDone(), NOW).position
    with pytest.raises(UnexpectedEvent):
        step(f, finished, PromptDone(), NOW)


def test_stray_keys_without_a_collection_are_dropped() -> None:
    f = flow({"id": "hi", "type": "play", "prompt": texts("Hello"), "next": "bye"}, BYE)
    pos = start(f, NOW).position
    assert step(f, pos, Digit("5"), NOW) == Step(pos, ())
