"""Reading call detail records and writing ``stats_aggregates`` with SQLAlchemy Core.

The tables are described here with lightweight Core ``Table`` objects so the statistics do not
depend on the site node's ORM models (``calls`` is built from :mod:`central.stats.columns`).
``calls`` is only read; ``stats_aggregates`` is reflected when it exists (only the columns it
has are written) and created otherwise.

Both backends work from the same code: SQLite through the standard ``sqlite3`` driver, opened
read-only (a mistyped path never creates an empty database), and PostgreSQL through asyncpg
(``postgresql://`` is mapped to ``postgresql+asyncpg://`` unless a sync driver is named), run
with ``asyncio.run`` so it also works inside a Ray task.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from central.stats.columns import READ_COLUMNS as READ_COLUMNS
from central.stats.errors import SiteUnavailable
from cluster.cdr import CDR_COLUMNS, Kind

_TYPES: dict[Kind, type[String] | type[Integer] | type[Double] | type[Boolean]] = {
    "text": String,
    "int": Integer,
    "time": Double,
    "seconds": Double,
    "bool": Boolean,
}
_metadata = MetaData()

calls_table = Table(
    "calls",
    _metadata,
    *(Column(name, _TYPES[kind], primary_key=name == "call_id") for name, kind in CDR_COLUMNS.items()),
)

aggregates_table = Table(
    "stats_aggregates",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("interval_start", Double, nullable=False),
    Column("interval_s", Integer, nullable=False),
    Column("site", String(64), nullable=False),
    Column("queue", String(40)),
    Column("agent_id", String(40)),
    Column("kpis", JSON, nullable=False),
    Column("computed_at", Double),
)

T = TypeVar("T")


def _is_plain_sqlite(url: str) -> bool:
    base, _, driver = url.split(":", 1)[0].partition("+")
    return base == "sqlite" and driver in ("", "pysqlite")


def _sqlite_path(url: str) -> str:
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:":
        raise SiteUnavailable(f"{url!r} names no SQLite file", url=url)
    return parsed.database


def _async_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    base, _, driver = scheme.partition("+")
    if base in ("postgres", "postgresql") and driver in ("", "asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    return url


def _uses_async(url: str) -> bool:
    return _async_url(url).split("://", 1)[0].endswith(("+asyncpg", "+aiosqlite"))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show only its scheme
        return urlsplit(url).scheme + "://..."


def run_on(url: str, work: Callable[[Connection], T], *, readonly: bool = True) -> T:
    """Run ``work(connection)`` in one transaction against ``url`` (sync or async driver)."""
    try:
        if _is_plain_sqlite(url):
            return _run_sqlite(url, work, readonly)
        if _uses_async(url):
            return asyncio.run(_run_async(_async_url(url), work))
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                return work(conn)
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
        cause = getattr(exc, "orig", None) or exc
        raise SiteUnavailable(
            f"database {redact(url)} failed: {type(cause).__name__}: {_first_line(cause)}",
            url=redact(url),
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def _run_sqlite(url: str, work: Callable[[Connection], T], readonly: bool) -> T:
    path = _sqlite_path(url)
    mode = "ro" if readonly else "rwc"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(f"file:{path}?mode={mode}", uri=True)

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            return work(conn)
    finally:
        engine.dispose()


async def _run_async(url: str, work: Callable[[Connection], T]) -> T:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def probe_calls(url: str) -> tuple[float | None, float | None, int]:
    """``(min arrival_at, max arrival_at, rows without arrival_at)`` of a site's ``calls``."""
    col = calls_table.c.arrival_at

    def work(conn: Connection) -> tuple[float | None, float | None, int]:
        lo, hi = conn.execute(select(func.min(col), func.max(col))).one()
        nulls = conn.execute(select(func.count()).where(col.is_(None))).scalar_one()
        return (
            None if lo is None else float(lo),
            None if hi is None else float(hi),
            int(nulls),
        )

    return run_on(url, work)


def read_calls(url: str, start_s: float, end_s: float) -> pd.DataFrame:
    """CDR rows of ``calls`` with ``start_s <= arrival_at < end_s`` as a DataFrame."""
    cols = [calls_table.c[name] for name in READ_COLUMNS]
    stmt = select(*cols).where(
        calls_table.c.arrival_at >= start_s, calls_table.c.arrival_at < end_s
    )

    def work(conn: Connection) -> list[Sequence[Any]]:
        return [tuple(row) for row in conn.execute(stmt)]

    rows = run_on(url, work)
    return pd.DataFrame.from_records(rows, columns=list(READ_COLUMNS))


def write_aggregates(
    url: str,
    rows: list[dict[str, Any]],
    *,
    interval_s: int,
    sites: Sequence[str],
    start_s: float,
    end_s: float,
) -> int:
    """Replace the aggregates of ``sites`` in ``[start_s, end_s)`` by ``rows``; create the table.

    Only columns that the existing table has are written, so a table created by the site
    node's migrations (which may carry more columns) is filled the same way.
    """

    def work(conn: Connection) -> int:
        if not inspect(conn).has_table("stats_aggregates"):
            aggregates_table.create(conn)
            table = aggregates_table
        else:
            table = _reflect_aggregates(conn)
        existing = set(table.c.keys())
        conn.execute(
            delete(table).where(
                table.c.interval_s == interval_s,
                table.c.site.in_(list(sites)),
                table.c.interval_start >= start_s,
                table.c.interval_start < end_s,
            )
        )
        if rows:
            clean = [{k: v for k, v in row.items() if k in existing} for row in rows]
            conn.execute(insert(table), clean)
        return len(rows)

    return run_on(url, work, readonly=False)


def _reflect_aggregates(conn: Connection) -> Table:
    return Table("stats_aggregates", MetaData(), Column("kpis", JSON), autoload_with=conn)


def read_aggregates(url: str) -> list[dict[str, Any]]:
    """Every row of ``stats_aggregates`` (for checks and the wallboard)."""

    def work(conn: Connection) -> list[dict[str, Any]]:
        table = _reflect_aggregates(conn)
        return [dict(row._mapping) for row in conn.execute(select(table))]

    return run_on(url, work)
