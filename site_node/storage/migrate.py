"""The site database's migrations: ``alembic upgrade head`` at site start-up (unless
``site.migrate_on_start`` is off), and on demand through ``callcenter migrate --target site``
(:data:`SITE_MIGRATIONS`, registered in the ``callcenter.migrations`` entry-point group)."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from site_node.storage.append_only import grant_append_only
from site_node.storage.engine import check_url, create_engine, database_url
from site_node.storage.errors import (
    MigrationFailed,
    OfflineSqlUnsupported,
    SchemaNotCurrent,
    StorageError,
    StorageUnavailable,
    translate_errors,
)

_log = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
# Serialises concurrent migrations of one PostgreSQL database by several site nodes.
_PG_LOCK_KEY = 0x6363_5354  # "ccST"


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration of the package (``alembic.ini`` next to this module)."""
    config = Config(str(_HERE / "alembic.ini"))
    config.set_main_option("script_location", str(_HERE / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", check_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationFailed("the migration scripts have no head revision")
    return head


def _run(connection: Connection, config: Config, target: str, direction: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    config.attributes["connection"] = connection
    if direction == "up":
        command.upgrade(config, target)
        if _current(connection) is not None:  # also when the role is configured after 0006 ran
            grant_append_only(connection, config.attributes.get("app_role"))
    else:
        command.downgrade(config, target)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def migrate(url: str, target: str = "head", *, app_role: str | None = None) -> str | None:
    """Bring the database at ``url`` to ``target`` (default: the newest revision).

    Safe to call at every start-up: an up-to-date database is left alone. Concurrent calls
    on one PostgreSQL database are serialised by an advisory lock. ``app_role``: the
    PostgreSQL role the application runs as, left only INSERT and SELECT on the audit table
    when it is not the migrating role. Returns the revision the database is at afterwards.
    """
    return await _migrate(url, target, "up", app_role=app_role)


async def downgrade(url: str, target: str) -> str | None:
    """Step the schema back to ``target`` (a revision id, ``-1`` or ``base``). Destroys data."""
    return await _migrate(url, target, "down")


async def _migrate(url: str, target: str, direction: str, *, app_role: str | None = None) -> str | None:
    config = alembic_config(url)
    config.attributes["app_role"] = app_role
    engine = create_engine(url)
    try:
        async with translate_errors("migrate"):
            async with engine.begin() as connection:
                await connection.run_sync(_run, config, target, direction)
            async with engine.connect() as connection:
                revision = await connection.run_sync(_current)
    except StorageUnavailable:
        raise  # the database is down: the caller may retry, nothing is wrong with the schema
    except StorageError as exc:
        raise MigrationFailed(f"migrating the database failed: {exc.message}") from exc
    except CommandError as exc:  # e.g. the database is at a revision this code does not know
        raise MigrationFailed(f"migrating the database failed: {exc}") from exc
    finally:
        await engine.dispose()
    _log.info("database at revision %s", revision)
    return revision


async def current_revision(url: str) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    engine = create_engine(url)
    try:
        async with translate_errors("current_revision"), engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


async def require_current(url: str) -> str:
    """The database's revision, which must be this build's head (a site that does not migrate
    on start refuses to run on an older or unknown schema)."""
    current, head = await current_revision(url), head_revision()
    if current != head:
        raise SchemaNotCurrent(
            f"the site database is at revision {current or 'none (empty)'} and this build needs {head}; "
            "run `callcenter migrate --target site` (or set site.migrate_on_start: true)",
            current=current,
            head=head,
        )
    return current


@dataclass(frozen=True, slots=True)
class Revision:
    id: str
    down: str | None
    title: str
    head: bool


def history() -> list[Revision]:
    """Every revision, newest first."""
    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    return [
        Revision(str(rev.revision), rev.down_revision if isinstance(rev.down_revision, str) else None,
                 (rev.doc or "").strip().splitlines()[0] if rev.doc else "", rev.revision in heads)
        for rev in script.walk_revisions()
    ]  # fmt: skip


def offline_sql(url: str, revision: str = "head") -> str:
    """The DDL ``upgrade`` would run, as a script for a DBA (PostgreSQL; ``revision`` may be a
    range ``FROM:TO`` for an existing database). SQLite needs a live connection (batch moves)."""
    config = alembic_config(url)
    if config.get_main_option("sqlalchemy.url", "").startswith("sqlite"):
        raise OfflineSqlUnsupported(
            "offline SQL is for PostgreSQL: SQLite schema changes copy tables and need the live "
            "database; run `callcenter migrate` against the file instead"
        )
    buffer = io.StringIO()
    config.output_buffer = buffer
    try:
        command.upgrade(config, revision, sql=True)
    except CommandError as exc:
        raise MigrationFailed(f"no offline SQL for revision {revision!r}: {exc}") from exc
    return buffer.getvalue()


class SiteMigrations:
    """``callcenter migrate --target site``: the site database (one per branch, or a shared
    PostgreSQL); its URL comes from ``site.database_url`` / ``site.data_dir`` and ``site.name``."""

    description = "the site database (calls, customers, agents, flows, audit trail)"

    def configured_url(self, settings: Any) -> str:
        site = settings.site
        return database_url(site.database_url, data_dir=site.data_dir, site=site.name)

    async def upgrade(self, url: str, revision: str, settings: Any) -> str | None:
        return await migrate(url, revision, app_role=settings.site.database_app_role)

    async def current(self, url: str) -> str | None:
        return await current_revision(url)

    def history(self) -> list[Revision]:
        return history()

    def offline_sql(self, url: str, revision: str) -> str:
        return offline_sql(url, revision)


SITE_MIGRATIONS = SiteMigrations()
