"""The business database: one engine for a central replica, and ``alembic upgrade`` on start.

Engines, URLs and error translation are the storage helpers the sites use
(:mod:`site_node.storage.engine`, :mod:`site_node.storage.errors`); only the migration scripts
(``central/business/migrations``) and the advisory lock key differ.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from central.business.config import BusinessConfig
from site_node.storage.engine import check_url, create_engine, session_factory
from site_node.storage.errors import MigrationFailed, StorageError, StorageUnavailable, translate_errors

_log = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
_PG_LOCK_KEY = 0x6363_4253  # "ccBS": replicas migrating one PostgreSQL database take turns
VERSION_TABLE = "business_alembic_version"  # apart from a site schema in the same database


def business_url(config: BusinessConfig) -> str:
    """The configured URL, else ``<data_dir>/business.db`` (one file for every replica)."""
    if config.database_url:
        return check_url(config.database_url)
    directory = Path(config.data_dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{directory / 'business.db'}"


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(_HERE / "alembic.ini"))
    config.set_main_option("script_location", str(_HERE / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", check_url(url).replace("%", "%%"))
    return config


def _upgrade(connection: Connection, config: Config, target: str) -> str | None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    config.attributes["connection"] = connection
    command.upgrade(config, target)
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


async def migrate(url: str, target: str = "head") -> str | None:
    """Bring the business database to ``target``; an up-to-date one is left alone."""
    engine = create_engine(url)
    try:
        async with translate_errors("business_migrate"), engine.begin() as connection:
            revision = await connection.run_sync(_upgrade, alembic_config(url), target)
    except StorageUnavailable:
        raise
    except StorageError as exc:
        raise MigrationFailed(f"migrating the business database failed: {exc.message}") from exc
    finally:
        await engine.dispose()
    _log.info("business database at revision %s", revision)
    return revision


class BusinessDb:
    """The engine and sessions of one replica (``open`` migrates first when configured)."""

    def __init__(self, url: str) -> None:
        self.url = check_url(url)
        self.engine: AsyncEngine = create_engine(self.url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        # reads (look-ups, searches, history) on their own engine: on SQLite they begin deferred
        # and run beside the writer; on PostgreSQL it is simply a second pool
        self.read_engine: AsyncEngine = create_engine(self.url, immediate=False, pool_size=10, max_overflow=10)
        self.reads: async_sessionmaker[AsyncSession] = session_factory(self.read_engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    async def open(cls, config: BusinessConfig) -> BusinessDb:
        url = business_url(config)
        if config.migrate_on_start:
            await migrate(url)
        return cls(url)

    async def close(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()
