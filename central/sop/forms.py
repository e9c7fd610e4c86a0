"""Form fields of a user task: their types, validation, and per-channel variants.

A field is ``{name, type, label?, required?, min?, max?, max_length?, choices?}``; the types are
:data:`FIELD_TYPES`. A form lists its fields and, per channel (``agent``: the agent desktop,
``web``: the customer's self-service page), which of them that channel shows (all by default).
A submission names its channel; only that channel's fields are accepted and required.
Sensitive data (PINs, passwords, full account numbers) has no place in a form: such names are
refused on publish, so they never land in an instance's data or history.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from central.sop.errors import BadDefinition, InvalidSubmission, UnknownFieldType

FIELD_TYPES = ("text", "number", "integer", "boolean", "choice", "date")
CHANNELS = ("agent", "web")
SENSITIVE = re.compile(r"(^|_)(pin|password|passcode|secret|account_number|card_number|cvv)($|_)")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TEXT = 2000
_FIELD_KEYS = {"name", "type", "label", "required", "min", "max", "max_length", "choices"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str
    required: bool = True
    min: float | None = None
    max: float | None = None
    max_length: int = 500
    choices: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "label": self.label, "required": self.required}
        if self.type in ("number", "integer"):
            out |= {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}
        if self.type == "text":
            out["max_length"] = self.max_length
        if self.type == "choice":
            out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True)
class Form:
    fields: tuple[Field, ...]
    channels: Mapping[str, tuple[str, ...]]  # channel -> the names of the fields it shows

    def variant(self, channel: str) -> list[dict[str, Any]]:
        shown = self.channels.get(channel)
        if shown is None:
            raise InvalidSubmission(f"channel {channel!r}: one of {', '.join(self.channels)}", field="channel")
        return [f.describe() for f in self.fields if f.name in shown]

    def validate(self, element: str, channel: str, values: Any) -> dict[str, Any]:
        """The submitted values, checked and normalised; :class:`InvalidSubmission` naming the
        element and the first bad field otherwise."""
        shown = self.channels.get(channel)
        if shown is None:
            raise InvalidSubmission(f"{element}: channel {channel!r} has no form here", element=element,
                                    field="channel")  # fmt: skip
        if not isinstance(values, dict):
            raise InvalidSubmission(f"{element}: the form's data is an object", element=element, field="data")
        unknown = sorted(set(values) - set(shown))
        if unknown:
            raise InvalidSubmission(f"{element}: {unknown[0]} is not a field of this form", element=element,
                                    field=unknown[0])  # fmt: skip
        clean: dict[str, Any] = {}
        for f in self.fields:
            if f.name not in shown:
                continue
            value = values.get(f.name)
            if value is None or value == "":
                if f.required:
                    raise InvalidSubmission(f"{element}: {f.name} is required", element=element, field=f.name)
                continue
            clean[f.name] = _check(element, f, value)
        return clean


def _bad(element: str, f: Field, why: str) -> InvalidSubmission:
    return InvalidSubmission(f"{element}: {f.name} {why}", element=element, field=f.name)


def _check(element: str, f: Field, value: Any) -> Any:
    if f.type == "text":
        if not isinstance(value, str) or len(value) > f.max_length:
            raise _bad(element, f, f"is text of at most {f.max_length} characters")
        return value.strip()
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise _bad(element, f, "is true or false")
        return value
    if f.type == "choice":
        if value not in f.choices:
            raise _bad(element, f, f"is one of {', '.join(f.choices)}")
        return value
    if f.type == "date":
        try:
            return dt.date.fromisoformat(value).isoformat() if isinstance(value, str) else _no()
        except ValueError:
            raise _bad(element, f, "is a date (YYYY-MM-DD)") from None
    integer = f.type == "integer"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise _bad(element, f, "is a whole number" if integer else "is a number")
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        raise _bad(element, f, f"is between {f.min} and {f.max}")
    return value


def _no() -> str:
    raise ValueError("not a string")


def parse_form(element: str, raw: Any) -> Form:
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list) or not raw["fields"]:
        raise BadDefinition(f"{element}: form: an object with a non-empty list of fields", element=element,
                            field="form")  # fmt: skip
    fields = tuple(_field(element, i, f) for i, f in enumerate(raw["fields"]))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise BadDefinition(f"{element}: form: field names repeat", element=element, field="form.fields")
    channels_raw = raw.get("channels", {})
    if not isinstance(channels_raw, dict) or set(channels_raw) - set(CHANNELS):
        raise BadDefinition(f"{element}: form.channels: an object with keys among {', '.join(CHANNELS)}",
                            element=element, field="form.channels")  # fmt: skip
    channels: dict[str, tuple[str, ...]] = {}
    for channel in CHANNELS:
        shown = channels_raw.get(channel, names)
        if not isinstance(shown, list) or not all(isinstance(n, str) and n in names for n in shown):
            raise BadDefinition(f"{element}: form.channels.{channel}: a list of this form's field names",
                                element=element, field=f"form.channels.{channel}")  # fmt: skip
        channels[channel] = tuple(shown)
    return Form(fields, channels)


def _field(element: str, index: int, raw: Any) -> Field:
    where = f"form.fields[{index}]"
    if not isinstance(raw, dict) or set(raw) - _FIELD_KEYS:
        raise BadDefinition(f"{element}: {where}: an object with keys among {', '.join(sorted(_FIELD_KEYS))}",
                            element=element, field=where)  # fmt: skip
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise BadDefinition(f"{element}: {where}.name: lower-case letters, digits and _", element=element,
                            field=f"{where}.name")  # fmt: skip
    if SENSITIVE.search(name):
        raise BadDefinition(f"{element}: field {name}: PINs, passwords and full account numbers are never asked "
                            "in a form", error_id="sop.sensitive_field", element=element, field=name)  # fmt: skip
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        raise UnknownFieldType(f"{element}: field {name}: type {kind!r} is not one of {', '.join(FIELD_TYPES)}",
                               element=element, field=name)  # fmt: skip
    choices = raw.get("choices", [])
    if kind == "choice" and (not isinstance(choices, list) or not choices
                             or not all(isinstance(c, str) for c in choices)):  # fmt: skip
        raise BadDefinition(f"{element}: field {name}: choices: a non-empty list of strings", element=element,
                            field=name)  # fmt: skip
    bounds = [raw.get("min"), raw.get("max")]
    if any(b is not None and (isinstance(b, bool) or not isinstance(b, int | float)) for b in bounds):
        raise BadDefinition(f"{element}: field {name}: min and max are numbers", element=element, field=name)
    max_length = raw.get("max_length", 500)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 0 < max_length <= MAX_TEXT:
        raise BadDefinition(f"{element}: field {name}: max_length: 1 to {MAX_TEXT}", element=element, field=name)
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise BadDefinition(f"{element}: field {name}: required is true or false", element=element, field=name)
    label = raw.get("label", name)
    return Field(name, kind, str(label)[:200], required, bounds[0], bounds[1], max_length, tuple(choices))
