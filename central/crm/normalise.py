"""Pure normalisation of what people type: phone numbers, names (search keys), e-mails, input rows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from central.crm.errors import InvalidEmail, InvalidField, InvalidPhone
from central.crm.models import SEGMENTS
from site_node.storage.hashing import normalise_phone as compact_phone

_PHONE = re.compile(r"\+?[0-9]{3,15}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NUMBER = re.compile(r"[A-Za-z0-9_-]{1,32}")
_SPACES = re.compile(r"\s+")


def phone_key(number: str) -> str:
    """``"+49 (151) 234-567"`` -> ``"+49151234567"``; ``00`` becomes ``+``. Anything that is not
    3 to 15 digits (after an optional ``+``) is :class:`InvalidPhone` (the value is named)."""
    compact = compact_phone(str(number).strip())
    if not _PHONE.fullmatch(compact):
        raise InvalidPhone(f"{number!r} is not a phone number (3 to 15 digits, optional leading +)", field="phones")
    return compact


def search_key(name: str) -> str:
    """Case-folded, accents removed, whitespace collapsed: ``"Jürgen  Müller"`` -> ``"jurgen muller"``.
    Chinese characters stay as they are (they carry no accents)."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.casefold().replace("ø", "o").replace("ł", "l")).strip()


def email_key(address: str) -> str:
    value = str(address).strip()
    if not _EMAIL.fullmatch(value) or len(value) > 254:
        raise InvalidEmail(f"{address!r} is not an e-mail address", field="emails")
    return value.lower()


@dataclass(frozen=True, slots=True)
class CustomerInput:
    """A validated customer (create, edit or one import row)."""

    customer_number: str
    name: str
    segment: str = "retail"
    language: str = "en"
    home_site: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    may_call: bool = True
    may_sms: bool = True
    may_email: bool = True
    services: tuple[str, ...] = field(default=())
    key: str = ""  # the name's search key (computed once by customer_input)


FIELDS = ("customer_number", "name", "segment", "language", "home_site", "phones", "emails",
          "may_call", "may_sms", "may_email", "services")  # fmt: skip
_SENSITIVE = ("pin", "password", "account_number", "full_account_number")


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n", ""):
        return False
    raise InvalidField(f"{name}: {value!r} is not yes/no", field=name)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in (v.strip() for v in re.split(r"[;|]", value)) if p]
    if isinstance(value, Iterable):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def customer_input(data: Mapping[str, Any], *, base: CustomerInput | None = None) -> CustomerInput:
    """Validate ``data`` (JSON body or import row); with ``base``, a partial edit of it.
    Unknown or sensitive keys are refused, never stored."""
    for name in data:
        if name in _SENSITIVE:
            raise InvalidField(f"{name} cannot be set here (use the PIN endpoints)", field=name)
        if name not in FIELDS:
            raise InvalidField(f"unknown field {name!r}; known: {', '.join(FIELDS)}", field=name)
    merged: dict[str, Any] = {} if base is None else {f: getattr(base, f) for f in FIELDS}
    merged.update({k: v for k, v in data.items()})
    number = str(merged.get("customer_number") or "").strip()
    if not _NUMBER.fullmatch(number):
        raise InvalidField("customer_number: 1 to 32 letters, digits, '-' or '_'", field="customer_number")
    name = _SPACES.sub(" ", str(merged.get("name") or "")).strip()
    if not name or len(name) > 200:
        raise InvalidField("name: 1 to 200 characters", field="name")
    segment = str(merged.get("segment") or "retail").strip().lower()
    if segment not in SEGMENTS:
        raise InvalidField(f"segment: one of {', '.join(SEGMENTS)}", field="segment")
    language = str(merged.get("language") or "en").strip()[:8]
    home = merged.get("home_site")
    return CustomerInput(
        customer_number=number,
        name=name,
        segment=segment,
        language=language,
        home_site=str(home).strip() or None if home else None,
        phones=tuple(dict.fromkeys(phone_key(p) for p in _list(merged.get("phones")))),
        emails=tuple(dict.fromkeys(email_key(e) for e in _list(merged.get("emails")))),
        may_call=_bool(merged.get("may_call", True), "may_call"),
        may_sms=_bool(merged.get("may_sms", True), "may_sms"),
        may_email=_bool(merged.get("may_email", True), "may_email"),
        services=tuple(dict.fromkeys(_list(merged.get("services")))),
        key=search_key(name),
    )
