"""The guard that keeps PINs, passwords and full account/card numbers out of the database.

Two checks, applied to every mapping the storage layer is asked to persist (call event data,
call detail records, audit details), recursively through nested mappings and lists:

* **keys**: a key whose normalised name is sensitive (``pin``, ``password``, ``account_number``,
  ``card_number``, ``iban``, ``cvv`` ...), or whose last word is one (``new_pin``,
  ``customer_password``), is refused. ``pin_verified`` or ``password_changed`` are allowed:
  they say *that* something happened, not *what* was typed.
* **values**: a string of 16-19 digits (spaces and dashes ignored) that passes the Luhn check is
  a card or account number and is refused. Phone numbers (E.164: at most 15 digits) never match.

Everything is checked before any write, so a refused call changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cluster.logs import SENSITIVE_KEYS
from site_node.storage.errors import SensitiveDataRejected

_SENSITIVE_NAMES = frozenset(
    {
        *SENSITIVE_KEYS,
        "passwd",
        "pwd",
        "pincode",
        "pin_code",
        "tpin",
        "otp",
        "cvv",
        "cvc",
        "cvv2",
        "pan",
        "iban",
        "full_account_number",
        "account_no",
        "card_no",
        "security_answer",
    }
)
_SENSITIVE_LAST_WORDS = frozenset({"pin", "password", "passcode", "passwd", "cvv", "cvc", "pan"})
_SENSITIVE_SUFFIXES = ("account_number", "card_number", "accountnumber", "cardnumber", "iban")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_DIGITS_ONLY = re.compile(r"\d{16,19}")


def normalise_key(key: str) -> str:
    """``"newPIN"`` -> ``"new_pin"``, ``"Account-Number"`` -> ``"account_number"``."""
    return _SEPARATORS.sub("_", _CAMEL.sub("_", key).lower()).strip("_")


def is_sensitive_key(key: str) -> bool:
    name = normalise_key(key)
    if name in _SENSITIVE_NAMES:
        return True
    if name.rsplit("_", 1)[-1] in _SENSITIVE_LAST_WORDS:
        return True
    return name.endswith(_SENSITIVE_SUFFIXES)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_full_number(value: str) -> bool:
    """True for a string that is a full card/account number (16-19 digits passing Luhn)."""
    compact = value.replace(" ", "").replace("-", "")
    return bool(_DIGITS_ONLY.fullmatch(compact)) and _luhn_ok(compact)


def _walk(value: Any, path: str, where: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            here = f"{path}.{key_text}" if path else key_text
            if is_sensitive_key(key_text):
                raise SensitiveDataRejected(
                    f"{where}: refusing to store sensitive field {here!r}", where=where, field=here
                )
            _walk(item, here, where)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", where)
    elif isinstance(value, str) and looks_like_full_number(value):
        raise SensitiveDataRejected(
            f"{where}: refusing to store what looks like a full account or card number at {path or 'value'!r}",
            where=where,
            field=path,
        )


def check_not_sensitive(data: Any, where: str) -> None:
    """Raise :class:`SensitiveDataRejected` if ``data`` carries sensitive keys or numbers."""
    _walk(data, "", where)


_EMBEDDED_NUMBER = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")


def mask_numbers_in_text(text: str) -> str:
    """Free text (an agent's notes) with every embedded card or account number (13-19 digits,
    spaces or dashes allowed, passing Luhn) masked to its last four digits."""

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "*" * (len(digits) - 4) + digits[-4:] if _luhn_ok(digits) else match.group(0)

    return _EMBEDDED_NUMBER.sub(mask, text)
