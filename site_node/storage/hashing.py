"""Hashes and masks: account numbers, agents' passwords, customers' PINs, phone numbers.

* Account numbers are stored masked (``**** **** 1234``) and as an HMAC-SHA256 keyed with the
  bank's account salt, so a full number typed by a caller can be looked up without the number
  ever being stored. The salt is a deployment secret shared by all sites of one bank.
* Passwords and PINs are hashed with argon2id (``argon2-cffi``; the PHC string carries salt
  and parameters). Older ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` hashes (and the cheaper
  deterministic demo hashes of the seed) still verify, and :func:`needs_rehash` tells the
  repositories to replace them with argon2id on the next successful check (transparent re-hash).
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

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from site_node.storage.errors import StorageError

DEMO_ACCOUNT_SALT = b"callcenter-demo-account-salt"
"""The salt of demo databases; production deployments configure their own."""

_NON_DIGITS = re.compile(r"\D")
_PHONE_JUNK = re.compile(r"[\s\-().]")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_PIN = re.compile(r"[0-9]{4,6}")
# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 20 ms per check here
_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


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


def hash_secret(secret: str) -> str:
    """The argon2id PHC string of ``secret`` (random salt)."""
    return _ARGON2.hash(secret)


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches an argon2id or scrypt hash (junk -> False)."""
    if stored.startswith("$argon2"):
        try:
            return _ARGON2.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False
    return scrypt_verify(secret, stored)


def needs_rehash(stored: str) -> bool:
    """Whether a hash that just verified should be replaced (not argon2id at today's parameters)."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _ARGON2.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def hash_password(password: str) -> str:
    return hash_secret(password)


def verify_password(password: str, stored: str) -> bool:
    return verify_secret(password, stored)


def is_pin(value: object) -> TypeGuard[str]:
    """4 to 6 ASCII digits."""
    return isinstance(value, str) and _PIN.fullmatch(value) is not None


def check_pin(value: object) -> str:
    """``value`` if it is a PIN, else :class:`StorageError` ``storage.bad_pin`` (value not echoed)."""
    if is_pin(value):
        return value
    raise StorageError("a PIN must be 4 to 6 digits", error_id="storage.bad_pin", status=400)


def hash_pin(pin: str) -> str:
    """The argon2id hash of a well-formed PIN (see :func:`check_pin`)."""
    return hash_secret(check_pin(pin))


def verify_pin(pin: str, stored: str | None) -> bool:
    """Whether ``pin`` matches ``stored``. Without a stored hash (unknown customer, no PIN set)
    a dummy hash is checked instead, so the answer takes as long as a real one."""
    candidate = pin if is_pin(pin) else ""
    matched = verify_secret(candidate, stored if stored is not None else _dummy_pin_hash())
    return matched and stored is not None and bool(candidate)


@functools.cache
def _dummy_pin_hash() -> str:
    return hash_secret(os.urandom(8).hex())
