"""Self-service IVR nodes (issue 20): typed read-outs, fetch / say / confirm in the pure
interpreter, the loader's refusals, and central's answer turned into the interpreter's event."""

from __future__ import annotations

from typing import Any

import pytest

from site_node.calls.selfservice import result_of
from site_node.ivr import (
    AddCallAction,
    CollectDigits,
    Digit,
    FetchRequest,
    FetchResult,
    HangupCall,
    InvalidFlow,
    LookupResult,
    PlayPrompt,
    PromptDone,
    SetCallData,
    Timeout,
    VerifyRequest,
    VerifyResult,
    load_demo_registry,
    start,
    step,
)
from site_node.ivr.readout import amount_words, date_words, digit_words, ending_words, number_words, render
from tests.site_node.ivr_helpers import flow, texts

NOW = 1_796_256_000.0  # 2026-12-03


@pytest.mark.parametrize(("n", "en", "zh"), [
    (0, "zero", "零"),
    (15, "fifteen", "十五"),
    (110, "one hundred ten", "一百一十"),
    (1001, "one thousand one", "一千零一"),
    (1200, "one thousand two hundred", "一千二百"),
    (10005, "ten thousand five", "一万零五"),
    (120050, "one hundred twenty thousand fifty", "十二万零五十"),
    (100000005, "one hundred million five", "一亿零五"),
    (-42, "minus forty-two", "负四十二"),
])  # fmt: skip
def test_numbers_in_words(n: int, en: str, zh: str) -> None:
    assert number_words(n, "en") == en
    assert number_words(n, "zh") == zh


def test_amounts_dates_endings_and_digits() -> None:
    assert amount_words(1200.5, "EUR", "en") == "one thousand two hundred euros and fifty cents"
    assert amount_words(1200.5, "EUR", "zh") == "一千二百欧元五十分"
    assert amount_words(1, "USD", "en") == "one dollar"
    assert amount_words(-0.01, "CNY", "zh") == "负零元一分"
    assert date_words(NOW, "en") == "December 3, 2026"
    assert date_words("2026-12-03", "zh") == "2026年12月3日"
    assert ending_words("6222020200112233", "en") == "ending in two two three three"  # never more than 4
    assert ending_words("x-2233", "zh") == "尾号二二三三"
    assert digit_words("907", "en") == "nine zero seven"
    text = "Balance {b:amount:EUR}; {missing:amount} {t:transactions}"
    values = {"b": 12.3, "t": [{"at": NOW, "amount": -5, "text": "rent"}]}
    assert (
        render(text, values, "en")
        == "Balance twelve euros and thirty cents;  December 3, 2026, minus five euros, rent."
    )


def fetch_flow(**fetch: Any) -> Any:
    node = {
        "id": "get",
        "type": "fetch",
        "fields": ["balance"],
        "inputs": {"customer_number": "customer_id"},
        "store": ["balance"],
        "outcome": "balance read",
        "next": "say",
        "on_error": "agent",
        **fetch,
    }
    return flow(
        node,
        {"id": "say", "type": "say", "text": {"en": "You have {balance:amount:EUR}.",
                                              "zh": "您有{balance:amount:EUR}。"}, "next": "bye"},
        {"id": "agent", "type": "queue", "queue": "retail", "skill": "retail"},
        {"id": "bye", "type": "hangup"},
    )  # fmt: skip


def test_fetch_puts_the_fields_into_call_data_and_say_reads_them_out_per_call() -> None:
    f = fetch_flow()
    s = start(f, NOW, vars={"customer_id": "10000001"})
    assert s.effects == (FetchRequest("get", "t", ("balance",), {"customer_number": "10000001"}),)
    s = step(f, s.position, Digit("5"), NOW)  # no type-ahead while the back office is asked
    assert s.effects == () and s.position.phase == "fetch"
    s = step(f, s.position, FetchResult({"balance": 1200.5}), NOW)
    assert SetCallData("attributes", "balance", 1200.5) in s.effects
    assert AddCallAction("balance read") in s.effects
    assert s.effects[-1] == PlayPrompt("say", "en", "You have one thousand two hundred euros and fifty cents.")
    assert isinstance(step(f, s.position, PromptDone(), NOW).effects[-1], HangupCall)
    zh = step(f, start(f, NOW, language="zh", vars={"customer_id": "1"}).position,
              FetchResult({"balance": 1200.5}), NOW)  # fmt: skip
    assert zh.effects[-1].text == "您有一千二百欧元五十分。"  # type: ignore[union-attr]


@pytest.mark.parametrize("result", [
    FetchResult(error="resources.timeout"),
    FetchResult(error="resources.malformed"),
    FetchResult({"balance": None}),  # the answer lacked the field
    FetchResult(refusal="limit_exceeded"),  # refused, and the node has no on_refused branch
])  # fmt: skip
def test_a_failed_fetch_says_so_and_takes_on_error_without_ending_the_call(result: FetchResult) -> None:
    f = fetch_flow()
    s = step(f, start(f, NOW, vars={"customer_id": "1"}).position, result, NOW)
    assert s.effects[-1] == PlayPrompt("get", "en", "Sorry, this service is not available right now.")
    assert not any(isinstance(e, SetCallData) and e.key == "balance" for e in s.effects)
    s = step(f, s.position, PromptDone(), NOW)
    assert s.position.node_id == "agent" and s.effects[-1].queue == "retail"  # type: ignore[union-attr]


def test_a_fetch_without_its_inputs_fails_at_once() -> None:
    f = fetch_flow()
    s = start(f, NOW, vars={})
    assert s.position.phase == "fetch_failed" and not any(isinstance(e, FetchRequest) for e in s.effects)


@pytest.mark.parametrize(("change", "problem"), [
    ({"fields": []}, "fields must be a non-empty list"),
    ({"store": ["other"]}, "store must list some of the node's fields"),
    ({"fields": ["pin_code"], "store": ["pin_code"]}, "'pin_code' is sensitive"),
    ({"inputs": {"x": {"var": "a", "as": "date"}}}, "inputs.x"),
    ({"outcome": "done {x:colour}"}, "unknown read-out type"),
    ({"retries": 2}, "unknown field(s) retries"),
])  # fmt: skip
def test_the_loader_refuses_bad_fetch_nodes_naming_the_node_and_field(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidFlow) as caught:
        fetch_flow(**change)
    assert caught.value.node_id == "get" and problem in str(caught.value)


def test_the_loader_refuses_bad_say_and_confirm_nodes() -> None:
    with pytest.raises(InvalidFlow, match=r"node 's'.*text \(en\): .*unknown currency XYZ"):
        flow({"id": "s", "type": "say", "text": texts("{a:amount:XYZ}"), "next": "b"}, {"id": "b", "type": "hangup"})
    with pytest.raises(InvalidFlow, match=r"node 'c'.*missing on_no"):
        flow({"id": "c", "type": "confirm", "text": texts("ok?"), "on_yes": "b", "on_fail": "b"},
             {"id": "b", "type": "hangup"})  # fmt: skip
    with pytest.raises(InvalidFlow, match=r"node 's'.*no text for language"):
        flow({"id": "s", "type": "say", "text": {"en": "hi"}, "next": "b"}, {"id": "b", "type": "hangup"})


def by_type(effects: Any, kind: type) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def test_the_demo_transfer_flow_pin_amount_confirm_result() -> None:
    f = load_demo_registry().latest("bank_transfer")
    s = start(f, NOW, vars={"caller_number": "+8613800000001"})
    s = step(f, s.position, LookupResult(True, customer_id="10000001"), NOW)
    for digit in "123456":
        s = step(f, s.position, Digit(digit), NOW)
    (verify,) = by_type(s.effects, VerifyRequest)
    assert "123456" not in repr(s) and verify.secret.reveal() == "123456"
    s = step(f, s.position, VerifyResult(True), NOW)
    (accounts,) = by_type(s.effects, FetchRequest)
    assert accounts.inputs == {"customer_number": "10000001"}
    s = step(f, s.position, FetchResult({"checking_account_id": "10000001-checking-2233", "checking_last_four": "2233",
                                         "savings_account_id": "10000001-savings-9911"}), NOW)  # fmt: skip
    assert s.position.node_id == "ask_amount"
    for digit in "250#":
        s = step(f, s.position, Digit(digit), NOW)
    assert SetCallData("collected", "transfer_amount", "250") in s.effects
    question = by_type(s.effects, PlayPrompt)[-1].text
    assert question.startswith("You are moving two hundred fifty euros from your account ending in two two three")
    assert question.endswith("To confirm, press 1. To cancel, press 2. To hear this again, press 9.")
    assert by_type(step(f, s.position, Digit("9"), NOW).effects, PlayPrompt)[-1].text == question
    s = step(f, step(f, s.position, Timeout(), NOW).position, Digit("1"), NOW)  # a retry, then yes
    (send,) = by_type(s.effects, FetchRequest)
    assert send.flow_id == "bank_transfer" and send.inputs == {
        "customer_number": "10000001", "transfer_source": "10000001-checking-2233",
        "transfer_target": "10000001-savings-9911", "transfer_amount": 250}  # fmt: skip
    ok = step(f, s.position, FetchResult({"transfer_ok": True, "transfer_left_today": 4750.0}), NOW)
    assert AddCallAction("self-service: transferred 250 EUR to savings") in ok.effects
    assert by_type(ok.effects, PlayPrompt)[-1].text == (
        "Done. You can still transfer four thousand seven hundred fifty euros today."
    )
    no = step(f, s.position, FetchResult(refusal="limit_exceeded"), NOW)
    assert by_type(no.effects, PlayPrompt)[-1].text == "The transfer was refused: it is over your daily transfer limit."
    assert SetCallData("attributes", "send_refused", "limit_exceeded") in no.effects
    assert "zh" in f.languages and by_type(start(f, NOW, language="zh").effects, CollectDigits) == []


def test_the_demo_balance_flow_reads_balance_and_transactions() -> None:
    f = load_demo_registry().select("95581", None)
    s = step(f, start(f, NOW, vars={"caller_number": "+86"}).position, LookupResult(True, customer_id="1"), NOW)
    tx = [{"at": NOW, "amount": -12.5, "text": "groceries"}]
    s = step(f, s.position, FetchResult({"checking_balance": 1200.5, "checking_last_four": "2233",
                                         "last_transactions": tx}), NOW)  # fmt: skip
    assert by_type(s.effects, PlayPrompt)[-1].text == (
        "The balance of your account ending in two two three three is one thousand two hundred euros and fifty cents."
    )
    s = step(f, step(f, s.position, PromptDone(), NOW).position, Digit("1"), NOW)
    assert "December 3, 2026, minus twelve euros and fifty cents, groceries." in by_type(s.effects, PlayPrompt)[-1].text


def test_central_answers_become_fetch_results() -> None:
    fields = ("transfer_ok",)
    assert result_of({"values": {"transfer_ok": True}, "errors": {}}, fields) == FetchResult({"transfer_ok": True})
    refused = {
        "error_id": "resources.backend_refused",
        "message": "transfer: refused (422 backoffice.limit_exceeded): the daily transfer limit is 5000.00",
    }
    assert result_of({"values": {}, "errors": {"transfer_ok": refused}}, fields).refusal == "limit_exceeded"
    timeout = {"error_id": "resources.timeout", "message": "transfer: no answer"}
    assert result_of({"values": {}, "errors": {"transfer_ok": timeout}}, fields).error == "resources.timeout"
    assert result_of(["not", "an", "object"], fields).error == "resources.malformed"


def test_the_demo_gas_meter_reading_flow_books_a_confirmed_reading() -> None:
    f = load_demo_registry().latest("gas_meter_reading")
    s = step(f, start(f, NOW, vars={"caller_number": "+86"}).position, LookupResult(True, customer_id="7"), NOW)
    s = step(f, s.position, FetchResult({"meter_id": "GM-7", "last_reading_kwh": 1200, "last_reading_at": NOW}), NOW)
    assert by_type(s.effects, PlayPrompt)[-1].text == (
        "Your last reading was one thousand two hundred kilowatt hours, on December 3, 2026."
    )
    s = step(f, s.position, PromptDone(), NOW)
    for digit in "1500#":
        s = step(f, s.position, Digit(digit), NOW)
    assert by_type(s.effects, PlayPrompt)[-1].text.startswith("Your new reading is one thousand five hundred")
    s = step(f, s.position, Digit("1"), NOW)
    (book,) = by_type(s.effects, FetchRequest)
    assert book.inputs == {"customer_number": "7", "reading_kwh": 1500}
    done = step(f, s.position, FetchResult({"reading_consumed_kwh": 300, "reading_estimate_eur": 36.0}), NOW)
    assert AddCallAction("self-service: gas meter reading of 1500 kWh booked") in done.effects
    low = step(f, s.position, FetchResult(refusal="error"), NOW)
    assert by_type(low.effects, PlayPrompt)[-1].text.startswith("That reading could not be booked")
