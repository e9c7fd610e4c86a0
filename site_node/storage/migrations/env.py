"""Alembic environment for the site-node schema, async engines (aiosqlite, asyncpg).

Two ways in:

* programmatic (site start-up, :func:`site_node.storage.migrate.migrate`): the caller opens an
  async connection and passes its sync facade as ``config.attributes["connection"]``;
* command line: the URL comes from ``-x url=...``, else ``CC_SITE__DATABASE_URL``, else the
  ``sqlalchemy.url`` option; an async engine is created and run with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from site_node.storage.engine import check_url, create_engine
from site_node.storage.models import metadata

config = context.config


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("CC_SITE__DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set CC_SITE__DATABASE_URL")
    return check_url(url)


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
