"""Hashes and masks: account numbers, agents' passwords, phone numbers.

* Account numbers are stored masked (``**** **** 1234``) and as an HMAC-SHA256 keyed with the
  bank's account salt, so a full number typed by a caller can be looked up without the number
  ever being stored. The salt is a deployment secret shared by all sites of one bank.
* Passwords are hashed with ``hashlib.scrypt`` and a random salt:
  ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from site_node.storage.errors import StorageError

DEMO_ACCOUNT_SALT = b"callcenter-demo-account-salt"
"""The salt of demo databases; production deployments configure their own."""

_NON_DIGITS = re.compile(r"\D")
_PHONE_JUNK = re.compile(r"[\s\-().]")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


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


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(hash_hex) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)
