"""The guard refuses PINs, passwords and full numbers, and a refused write changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.errors import CallCenterError
from site_node.storage import CallDetailRecord, SensitiveDataRejected, Storage
from site_node.storage.guard import check_not_sensitive, is_sensitive_key, looks_like_full_number

CARD = "4111 1111 1111 1111"  # Luhn-valid test card number


@pytest.mark.parametrize(
    "key",
    ["pin", "PIN", "new_pin", "newPin", "password", "customer_password", "passcode",
     "account_number", "accountNumber", "full_account_number", "card-number", "iban", "cvv"],
)  # fmt: skip
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["pin_verified", "password_changed", "account", "masked_number", "digits", "spin"])
def test_harmless_keys(key: str) -> None:
    assert not is_sensitive_key(key)


def test_full_numbers_are_recognised_but_phone_numbers_are_not() -> None:
    assert looks_like_full_number(CARD)
    assert looks_like_full_number("5298-8666-2815-3102")
    assert not looks_like_full_number("+4917012345678")
    assert not looks_like_full_number("4111 1111 1111 1112")  # fails Luhn
    assert not looks_like_full_number("**** **** 1111")


@pytest.mark.parametrize(
    "data",
    [
        {"pin": "1234"},
        {"collected": {"menu": "2", "newPin": "9999"}},
        {"inputs": [{"ok": True}, {"password": "x"}]},
        {"note": CARD},
    ],
)
def test_nested_sensitive_data_is_found(data: dict[str, Any]) -> None:
    with pytest.raises(SensitiveDataRejected) as caught:
        check_not_sensitive(data, "call_events")
    assert isinstance(caught.value, CallCenterError)
    assert caught.value.error_id == "storage.sensitive_data"
    assert caught.value.status == 422


async def test_events_with_sensitive_data_are_refused_whole(storage: Storage) -> None:
    await storage.calls.append_event("call-1", "arrived", 1.0, {"menu": "1"})

    with pytest.raises(SensitiveDataRejected) as caught:
        await storage.calls.append_events(
            "call-1",
            [("dtmf", 2.0, {"menu": "2"}), ("pin_collected", 3.0, {"pin": "4321"})],
        )

    assert caught.value.details["field"] == "pin"
    assert [e.type for e in await storage.calls.events_for_call("call-1")] == ["arrived"]


async def test_event_carrying_a_full_account_number_is_refused(storage: Storage) -> None:
    with pytest.raises(SensitiveDataRejected):
        await storage.calls.append_event("call-1", "lookup", 1.0, {"said": CARD})
    assert await storage.calls.events_for_call("call-1") == []


async def test_call_data_with_sensitive_keys_is_refused(storage: Storage) -> None:
    with pytest.raises(SensitiveDataRejected):
        await storage.calls.upsert_call({"call_id": "c", "site": "s", "password": "secret"})
    with pytest.raises(SensitiveDataRejected):
        await storage.calls.upsert_call(CallDetailRecord("c", "s", caller_number=CARD))
    before = CallDetailRecord("c", "s", end_reason="answered")
    await storage.calls.upsert_call(before)
    with pytest.raises(SensitiveDataRejected):
        await storage.calls.upsert_calls(
            [CallDetailRecord("d", "s"), {"call_id": "c", "site": "s", "account_number": CARD}]
        )

    assert await storage.calls.count_calls() == 1
    assert await storage.calls.get_call("c") == before


async def test_audit_details_are_guarded(storage: Storage) -> None:
    with pytest.raises(SensitiveDataRejected):
        await storage.audit.audit(at=1.0, actor="x", action="reset", details={"new_pin": "1"})
    assert await storage.audit.entries() == []
