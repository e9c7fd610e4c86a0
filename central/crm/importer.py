"""CSV / XLSX import of customers: a validation report (row, column, reason, error id), dry run,
idempotent upsert by customer number in chunks. A bad row is reported and skipped; it changes
nothing else. A file whose header names an unknown column is refused as a whole."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from central.crm.errors import BadImport, CrmError
from central.crm.normalise import FIELDS, CustomerInput, customer_input
from central.crm.store import CrmStore
from cluster.clock import Clock

CHUNK = 5000
MAX_ERRORS = 1000  # a report lists at most this many bad rows (the count is exact)


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    invalid: int = 0
    dry_run: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "valid": self.valid, "created": self.created, "updated": self.updated,
                "invalid": self.invalid, "dry_run": self.dry_run, "errors": self.errors}  # fmt: skip


def csv_rows(lines: Iterable[str]) -> Iterator[list[str]]:
    return csv.reader(lines)


def xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        for row in book.active.iter_rows(values_only=True):  # type: ignore[union-attr]
            yield ["" if v is None else str(v) for v in row]
    finally:
        book.close()


def _header(row: list[str]) -> list[str]:
    names = [h.strip().lower() for h in row]
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise BadImport(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}",
                        error_id="crm.unknown_column", columns=unknown)  # fmt: skip
    if "customer_number" not in names or "name" not in names:
        raise BadImport("the header needs at least customer_number and name", error_id="crm.missing_column")
    return names


class _ChunkWriter:
    """Writes one chunk in the background while the next is validated (one at a time, in order)."""

    def __init__(self, store: CrmStore, clock: Clock, report: ImportReport) -> None:
        self._store, self._clock, self._report = store, clock, report
        self._task: asyncio.Task[None] | None = None

    async def write(self, chunk: list[CustomerInput]) -> None:
        await self.wait()
        self._task = asyncio.create_task(_flush(self._store, self._clock, chunk, self._report), name="crm-import")

    async def wait(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    async def cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def import_rows(
    store: CrmStore, clock: Clock, rows: Iterable[list[str]], *, dry_run: bool = False,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:  # fmt: skip
    """Validate every row, then upsert the valid ones ``CHUNK`` at a time (unless ``dry_run``)."""
    report = ImportReport(dry_run=dry_run)
    iterator = iter(rows)
    try:
        names = _header(next(iterator))
    except StopIteration:
        raise BadImport("the file is empty") from None
    seen: set[str] = set()
    chunk: list[CustomerInput] = []
    writer = _ChunkWriter(store, clock, report)
    try:
        for line, values in enumerate(iterator, start=2):
            inp = _validated(names, values, line, seen, report)
            if inp is None:
                continue
            chunk.append(inp)
            if len(chunk) >= CHUNK:
                await writer.write(chunk)
                chunk = []
                if progress is not None:
                    progress(report)
        await writer.write(chunk)
        await writer.wait()
    finally:
        await writer.cancel()
    return report


def _validated(
    names: list[str], values: list[str], line: int, seen: set[str], report: ImportReport
) -> CustomerInput | None:
    if not any(v.strip() for v in values):
        return None
    report.rows += 1
    try:
        if len(values) != len(names):
            raise CrmError(f"{len(values)} values for {len(names)} columns", error_id="crm.malformed_row")
        inp = customer_input({n: v for n, v in zip(names, values, strict=True) if v != "" or n == "name"})
        if inp.customer_number in seen:
            raise CrmError(f"customer number {inp.customer_number} appears twice in the file",
                           error_id="crm.duplicate_customer_number", field="customer_number")  # fmt: skip
    except CrmError as exc:
        report.invalid += 1
        if len(report.errors) < MAX_ERRORS:
            report.errors.append({"row": line, "column": exc.details.get("field"), "reason": exc.message,
                                  "error_id": exc.error_id})  # fmt: skip
        return None
    seen.add(inp.customer_number)
    return inp


async def _flush(store: CrmStore, clock: Clock, chunk: list[CustomerInput], report: ImportReport) -> None:
    if not chunk:
        return
    existing = await store.existing_numbers(c.customer_number for c in chunk)
    report.valid += len(chunk)
    report.updated += len(existing)
    report.created += len(chunk) - len(existing)
    if not report.dry_run:
        await store.upsert_many(chunk, clock.now(), existing=bool(existing))


def export_csv(rows: Iterable[dict[str, Any]], *, header: bool) -> str:
    """Customers as CSV in the import's columns (round-trips through :func:`import_rows`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(FIELDS)
    for r in rows:
        writer.writerow([";".join(r[f]) if isinstance(r[f], list) else
                         ("" if r[f] is None else str(r[f]).lower() if isinstance(r[f], bool) else r[f])
                         for f in FIELDS])  # fmt: skip
    return out.getvalue()
