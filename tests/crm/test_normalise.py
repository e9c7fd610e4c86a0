"""Pure normalisation: phone keys, accent-insensitive search keys, input validation."""

from __future__ import annotations

import pytest

from central.crm.errors import InvalidEmail, InvalidField, InvalidPhone
from central.crm.normalise import customer_input, email_key, phone_key, search_key


@pytest.mark.parametrize(
    ("typed", "key"),
    [("+49 (151) 234-567", "+49151234567"), ("0049 30 1234567", "+49301234567"), ("030.123.45", "03012345")],
)
def test_phone_numbers_are_reduced_to_digits(typed: str, key: str) -> None:
    assert phone_key(typed) == key


@pytest.mark.parametrize("bad", ["", "12", "call me", "+49 151 abc", "+1234567890123456"])
def test_malformed_phone_numbers_are_refused(bad: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        phone_key(bad)
    assert caught.value.error_id == "crm.invalid_phone"


@pytest.mark.parametrize(
    ("name", "key"),
    [("Jürgen  Müller", "jurgen muller"), ("ZOË Ørsted", "zoe orsted"), ("王小明", "王小明"), ("Straße", "strasse")],
)
def test_search_keys_ignore_case_accents_and_spacing(name: str, key: str) -> None:
    assert search_key(name) == key


def test_emails_are_checked_and_lowered() -> None:
    assert email_key(" Anna@Example.COM ") == "anna@example.com"
    with pytest.raises(InvalidEmail):
        email_key("not-an-address")


def test_input_refuses_unknown_and_sensitive_fields() -> None:
    with pytest.raises(InvalidField, match="unknown field"):
        customer_input({"customer_number": "1", "name": "A", "colour": "red"})
    with pytest.raises(InvalidField, match="PIN"):
        customer_input({"customer_number": "1", "name": "A", "pin": "1234"})
    with pytest.raises(InvalidField, match="segment"):
        customer_input({"customer_number": "1", "name": "A", "segment": "gold"})


def test_an_edit_keeps_what_it_does_not_name() -> None:
    base = customer_input({"customer_number": "C1", "name": "Anna", "phones": "+4917011;+4930222", "may_sms": "no"})
    edited = customer_input({"segment": "vip"}, base=base)
    assert (edited.segment, edited.phones, edited.may_sms, edited.name) == (
        "vip",
        ("+4917011", "+4930222"),
        False,
        "Anna",
    )
