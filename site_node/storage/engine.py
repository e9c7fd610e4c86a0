"""Database URLs and engines: SQLite file per site by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from site_node.storage.errors import StorageError

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


def default_database_url(data_dir: str | Path, site: str) -> str:
    """``sqlite+aiosqlite:///<absolute data_dir>/<site>.db`` (the directory is created)."""
    directory = Path(data_dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{directory / (site + '.db')}"


def database_url(url: str | None, *, data_dir: str | Path, site: str) -> str:
    """The URL a site uses: the configured one, else the default SQLite file."""
    return check_url(url) if url else default_database_url(data_dir, site)


def check_url(url: str | URL) -> str:
    """Accept async SQLite/PostgreSQL URLs; plain ``sqlite://``/``postgresql://`` get a driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    driver = parsed.drivername
    if driver in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise StorageError(
            f"database URL driver {driver!r} is not supported; use one of {SUPPORTED_DRIVERS}",
            error_id="storage.bad_url",
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by _sqlite_begin, not by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that read before
    # another connection committed cannot upgrade to a writer (SQLITE_BUSY without waiting).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, immediate: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite connections get foreign keys, WAL and a busy timeout.
    ``immediate=False``: SQLite transactions begin deferred (an engine that only reads: WAL lets
    its readers run side by side with each other and with the one writer)."""
    checked = check_url(url)
    is_sqlite = checked.startswith("sqlite")
    if is_sqlite:
        path = make_url(checked).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(checked, **kwargs)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if immediate:
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
