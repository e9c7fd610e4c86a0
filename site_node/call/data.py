"""Call-attached data (C4): what travels with a call through every transfer and site change.

Only non-sensitive values are ever attached. Keys that name secrets (PIN, password, full
account or card numbers) are refused, and an account is accepted only in masked form
(at most the last four digits visible), so an agent's screen pop can never show them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cluster.logs import SENSITIVE_KEYS

from .errors import CallRecordInvalid, SensitiveDataRefused

_MASKED = re.compile(r"^[*xX•\- ]*[0-9]{0,4}$")
_SENSITIVE_PARTS = ("pin", "password", "passcode", "secret", "cvv")

Scalar = str | int | float | bool | None


def is_sensitive_key(key: str) -> bool:
    low = key.lower()
    return low in SENSITIVE_KEYS or any(part in low for part in _SENSITIVE_PARTS)


def mask_account(number: str) -> str:
    """``6222020200112233`` -> ``************2233`` (only the last four digits shown)."""
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def _check_value(key: str, value: Any) -> Scalar:
    if is_sensitive_key(key):
        raise SensitiveDataRefused(
            f"{key!r} is sensitive and is never attached to a call", key=key
        )
    if value is not None and not isinstance(value, str | int | float | bool):
        raise SensitiveDataRefused(f"{key!r}: only plain values can be attached", key=key)
    return value  # type: ignore[no-any-return]


@dataclass(slots=True)
class CallData:
    """The screen-pop payload and history of one call (JSON-safe via :meth:`to_dict`)."""

    customer_id: str | None = None
    masked_account: str | None = None
    segment: str | None = None
    language: str = "en"
    verified: bool | None = None  # result of a sensitive verification; never the value
    collected: dict[str, Scalar] = field(default_factory=dict)  # what the IVR collected
    attributes: dict[str, Scalar] = field(default_factory=dict)  # set by flows / desktop
    actions: list[str] = field(default_factory=list)  # what was already done
    transfer_history: list[dict[str, Any]] = field(default_factory=list)

    def set_account(self, account: str | None) -> None:
        if account is not None and not _MASKED.match(account):
            raise SensitiveDataRefused(
                "an account must be attached masked (last four digits at most)",
                key="masked_account",
            )
        self.masked_account = account

    def set_value(self, section: str, key: str, value: Any) -> None:
        """Set ``collected``/``attributes`` ``key`` or a top-level field (customer_id, ...)."""
        if section == "collected":
            self.collected[key] = _check_value(key, value)
        elif section == "attributes":
            self.attributes[key] = _check_value(key, value)
        elif section == "call":
            if key == "masked_account":
                self.set_account(None if value is None else str(value))
            elif key in ("customer_id", "segment"):
                setattr(self, key, None if value is None else str(value))
            elif key == "language":
                self.language = str(value)
            elif key == "verified":
                self.verified = None if value is None else bool(value)
            else:
                raise SensitiveDataRefused(f"unknown call field {key!r}", key=key)
        else:
            raise SensitiveDataRefused(f"unknown call-data section {section!r}", key=key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "masked_account": self.masked_account,
            "segment": self.segment,
            "language": self.language,
            "verified": self.verified,
            "collected": dict(self.collected),
            "attributes": dict(self.attributes),
            "actions": list(self.actions),
            "transfer_history": [dict(entry) for entry in self.transfer_history],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CallData:
        try:
            data = cls(
                customer_id=raw.get("customer_id"),
                segment=raw.get("segment"),
                language=str(raw.get("language", "en")),
                verified=raw.get("verified"),
                actions=[str(a) for a in raw.get("actions", [])],
                transfer_history=[dict(e) for e in raw.get("transfer_history", [])],
            )
            data.set_account(raw.get("masked_account"))
            for key, value in dict(raw.get("collected", {})).items():
                data.set_value("collected", str(key), value)
            for key, value in dict(raw.get("attributes", {})).items():
                data.set_value("attributes", str(key), value)
        except (TypeError, ValueError, AttributeError) as exc:
            raise CallRecordInvalid(f"call data cannot be restored: {exc}") from exc
        return data
