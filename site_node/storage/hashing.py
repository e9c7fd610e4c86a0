"""Hashes and masks: account numbers, agents' passwords, customers' PINs, phone numbers.

* Account numbers are stored masked (``**** **** 1234``) and as an HMAC-SHA256 keyed with the
  bank's account salt, so a full number typed by a caller can be looked up without the number
  ever being stored. The salt is a deployment secret shared by all sites of one bank.
* Passwords and PINs are hashed with ``hashlib.scrypt`` and a random per-row salt:
  ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``. The parameters travel with the hash, so
  hashes made with other parameters (the cheaper demo PINs of the seed) verify all the same.
  A PIN is 4 to 6 digits; a malformed one is refused (``storage.bad_pin``) before hashing, and
  the error never repeats the value.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from typing import TypeGuard

from site_node.storage.errors import StorageError

DEMO_ACCOUNT_SALT = b"callcenter-demo-account-salt"
"""The salt of demo databases; production deployments configure their own."""

_NON_DIGITS = re.compile(r"\D")
_PHONE_JUNK = re.compile(r"[\s\-().]")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_PIN = re.compile(r"[0-9]{4,6}")


def account_digits(number: str) -> str:
    digits = _NON_DIGITS.sub("", number)
    if len(digits) < 6:
        raise StorageError("an account number needs at least 6 digits", error_id="storage.bad_account_number")
    return digits


def account_number_hash(number: str, salt: bytes = DEMO_ACCOUNT_SALT) -> str:
    """Keyed hash of a full account number (separators ignored), hex."""
    return hmac.new(salt, account_digits(number).encode(), hashlib.sha256).hexdigest()


def mask_account_number(number: str) -> str:
    """``"4000 1234 5678 9010"`` -> ``"**** **** 9010"``."""
    return f"**** **** {account_digits(number)[-4:]}"


def normalise_phone(number: str) -> str:
    """Strip spaces, dashes, dots and brackets; ``00`` prefix becomes ``+``."""
    compact = _PHONE_JUNK.sub("", number)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact


def scrypt_hash(secret: str, salt: bytes | None = None, *, n: int = _SCRYPT_N) -> str:
    """``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` of ``secret`` (random 16-byte salt by default)."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${n}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def scrypt_verify(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a :func:`scrypt_hash` (constant-time compare; junk -> False)."""
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            secret.encode(),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(hash_hex) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)


def hash_password(password: str, salt: bytes | None = None) -> str:
    return scrypt_hash(password, salt)


def verify_password(password: str, stored: str) -> bool:
    return scrypt_verify(password, stored)


def is_pin(value: object) -> TypeGuard[str]:
    """4 to 6 ASCII digits."""
    return isinstance(value, str) and _PIN.fullmatch(value) is not None


def check_pin(value: object) -> str:
    """``value`` if it is a PIN, else :class:`StorageError` ``storage.bad_pin`` (value not echoed)."""
    if is_pin(value):
        return value
    raise StorageError("a PIN must be 4 to 6 digits", error_id="storage.bad_pin", status=400)


def hash_pin(pin: str, salt: bytes | None = None, *, n: int = _SCRYPT_N) -> str:
    """The scrypt hash of a well-formed PIN (see :func:`check_pin`)."""
    return scrypt_hash(check_pin(pin), salt, n=n)


def verify_pin(pin: str, stored: str | None) -> bool:
    """Whether ``pin`` matches ``stored``. Without a stored hash (unknown customer, no PIN set)
    a dummy hash is checked instead, so the answer takes as long as a real one."""
    candidate = pin if is_pin(pin) else ""
    matched = scrypt_verify(candidate, stored if stored is not None else _dummy_pin_hash())
    return matched and stored is not None and bool(candidate)


@functools.cache
def _dummy_pin_hash() -> str:
    return scrypt_hash(os.urandom(8).hex())
