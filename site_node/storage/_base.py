"""Shared plumbing of the repositories: transactions with error translation, dialect upserts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Insert

from site_node.storage.errors import translate_errors


class Repository:
    """Base of the repositories: one short transaction per call, errors translated."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def _transaction(self, what: str) -> AsyncIterator[AsyncSession]:
        async with translate_errors(what), self._sessions.begin() as session:
            yield session


async def lock_key(session: AsyncSession, key: str) -> None:
    """Serialise writers of one key until the transaction ends (PostgreSQL advisory lock;
    SQLite transactions already hold the database's write lock from their start)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def _dialect_insert(bind: AsyncSession | AsyncConnection, table: Table) -> Any:
    name = bind.dialect.name if isinstance(bind, AsyncConnection) else bind.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"no upsert for dialect {name}")


def upsert(
    session: AsyncSession,
    table: Table,
    keys: Sequence[str],
    update: Iterable[str] | None = None,
) -> Insert:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` of ``update`` (default: all non-key columns)."""
    stmt = _dialect_insert(session, table)
    columns = [c.name for c in table.columns if c.name not in keys] if update is None else update
    set_ = {name: stmt.excluded[name] for name in columns}
    if not set_:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))  # type: ignore[no-any-return]
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)  # type: ignore[no-any-return]


def insert_ignore(bind: AsyncSession | AsyncConnection, table: Table, keys: Sequence[str]) -> Insert:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING``."""
    stmt = _dialect_insert(bind, table)
    return stmt.on_conflict_do_nothing(index_elements=list(keys))  # type: ignore[no-any-return]


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table
