"""A campaign's contact list from CSV, with a validation report.

Columns: ``phone`` (required), ``customer_number``, ``name``, ``tz`` (IANA; the campaign's zone
when empty), ``priority`` (0-9, higher first) and any number of data columns shown to the agent
and the script (``amount_due``, ``days_overdue`` ...). Sensitive columns (PIN, password, full
account number) refuse the whole file: they must never reach an agent's screen. A bad row is
reported (row, column, reason, error id) and skipped; the good rows are kept.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from central.campaigns.errors import BadList, CampaignError
from central.campaigns.hours import zone
from central.crm.normalise import phone_key
from cluster.errors import CallCenterError

KNOWN = ("phone", "customer_number", "name", "tz", "priority")
SENSITIVE = ("pin", "password", "account_number", "full_account_number", "card_number", "cvv")
_COLUMN = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_ERRORS = 1000
MAX_DATA_CHARS = 200


@dataclass(frozen=True, slots=True)
class ListEntry:
    row: int
    phone: str
    customer_number: str | None
    name: str
    tz: str
    priority: int
    data: dict[str, str]


@dataclass
class ListReport:
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: int, column: str, error: CallCenterError) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "column": column, "reason": error.message, "error_id": error.error_id})

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "valid": self.valid, "invalid": self.invalid, "duplicates": self.duplicates,
                "errors": self.errors}  # fmt: skip


def _header(row: list[str]) -> list[str]:
    names = [h.strip().lower() for h in row]
    if "phone" not in names:
        raise BadList("the list has no phone column", error_id="campaign.missing_column", column="phone")
    sensitive = [n for n in names if n in SENSITIVE]
    if sensitive:
        raise BadList(f"column(s) {', '.join(sensitive)} must never be shown to agents: remove them",
                      error_id="campaign.sensitive_column", columns=sensitive)  # fmt: skip
    bad = [n for n in names if not _COLUMN.fullmatch(n)]
    if bad or len(set(names)) != len(names):
        raise BadList("column names are lower-case words (a-z, 0-9, _), each once", columns=bad or names)
    return names


def _entry(number: int, values: dict[str, str], default_tz: str) -> ListEntry:
    column = "phone"
    try:
        phone = phone_key(values["phone"])
        column = "tz"
        tz = values.get("tz") or default_tz
        zone(tz)
        column = "priority"
        text = values.get("priority") or "0"
        if not text.isdigit() or int(text) > 9:
            raise CampaignError(f"priority {text!r} is not 0 to 9", error_id="campaign.bad_priority")
        data = {k: v for k, v in values.items() if k not in KNOWN and v}
        for key, value in data.items():
            column = key
            if len(value) > MAX_DATA_CHARS:
                raise CampaignError(f"longer than {MAX_DATA_CHARS} characters", error_id="campaign.bad_value")
    except CallCenterError as exc:
        exc.details.setdefault("column", column)
        raise
    return ListEntry(number, phone, values.get("customer_number") or None, values.get("name", ""), tz, int(text),
                     data)  # fmt: skip


def parse_list(lines: Iterable[str], default_tz: str, report: ListReport) -> Iterator[ListEntry]:
    """The good rows, in file order, one per phone number (later duplicates counted, skipped)."""
    zone(default_tz)
    reader = csv.reader(lines)
    header = _header(next(reader, []))
    seen: set[str] = set()
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        report.rows += 1
        if len(row) != len(header):
            report.add(number, "", CampaignError(f"{len(row)} cells for {len(header)} columns",
                                                 error_id="campaign.malformed_row"))  # fmt: skip
            continue
        try:
            entry = _entry(number, {k: v.strip() for k, v in zip(header, row, strict=True)}, default_tz)
        except CallCenterError as exc:
            report.add(number, str(exc.details.get("column", "")), exc)
            continue
        if entry.phone in seen:
            report.duplicates += 1
            continue
        seen.add(entry.phone)
        report.valid += 1
        yield entry
