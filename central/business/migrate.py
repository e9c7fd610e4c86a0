"""``callcenter migrate --target business``: the business database's schema on demand
(:data:`BUSINESS_MIGRATIONS`, registered in the ``callcenter.migrations`` entry-point group).

Central replicas also migrate it at start-up (``business.migrate_on_start``,
:func:`central.business.db.migrate`). Its revisions: customers (0001), work orders and
notifications (0002), in ``central/business/migrations/versions``.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from central.business.config import BusinessConfig
from central.business.db import VERSION_TABLE, alembic_config, business_url, migrate
from site_node.storage.engine import create_engine
from site_node.storage.errors import OfflineSqlUnsupported, translate_errors
from site_node.storage.migrate import Revision


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


async def current_revision(url: str) -> str | None:
    """The revision the business database is at (``None`` when empty)."""
    engine = create_engine(url)
    try:
        async with translate_errors("business_current"), engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


def _down(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, target)


async def downgrade(url: str, target: str) -> str | None:
    """Step the schema back to ``target`` (destroys that revision's data: tests and rollbacks)."""
    engine = create_engine(url)
    try:
        async with translate_errors("business_downgrade"), engine.begin() as connection:
            await connection.run_sync(_down, target)
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


def history() -> list[Revision]:
    """Every revision of the business database, newest first."""
    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    return [
        Revision(
            str(rev.revision),
            rev.down_revision if isinstance(rev.down_revision, str) else None,
            (rev.doc or "").strip().splitlines()[0] if rev.doc else "",
            rev.revision in heads,
        )
        for rev in script.walk_revisions()
    ]


class BusinessMigrations:
    """The target ``business``: its URL is ``business.database_url`` or ``<business.data_dir>/business.db``."""

    description = "the business database (customers, contact history, work orders, notifications)"

    def configured_url(self, settings: Any) -> str:
        config = getattr(settings, "business", None)
        if not isinstance(config, BusinessConfig):  # an installation without the section's entry point
            from central.config import CentralSettings
            from cluster.config import load_settings

            config = load_settings(environ=os.environ, model=CentralSettings).business
        return business_url(config)

    async def upgrade(self, url: str, revision: str, settings: Any) -> str | None:
        return await migrate(url, revision)

    async def current(self, url: str) -> str | None:
        return await current_revision(url)

    def history(self) -> list[Revision]:
        return history()

    def offline_sql(self, url: str, revision: str) -> str:
        # the customers' revision asks the live PostgreSQL whether pg_trgm is available
        raise OfflineSqlUnsupported(
            "the business database is migrated online: run `callcenter migrate --target business` "
            "against it (or let a central replica migrate it on start)"
        )


BUSINESS_MIGRATIONS = BusinessMigrations()
