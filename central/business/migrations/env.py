"""Alembic environment of the business database: every MetaData of
:data:`central.business.schema.METADATA_MODULES`. Programmatic (``config.attributes["connection"]``,
:func:`central.business.db.migrate`) or command line (``-x url=...`` / ``CC_BUSINESS__DATABASE_URL``)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from central.business.db import VERSION_TABLE
from central.business.schema import hand_made, metadatas
from site_node.storage.engine import check_url, create_engine

config = context.config
target_metadata = metadatas()


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave out what the migrations make by hand (:func:`central.business.schema.hand_made`)."""
    return not hand_made(name)


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=_ours,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("CC_BUSINESS__DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set CC_BUSINESS__DATABASE_URL")
    return check_url(url)


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run)
            await connection.commit()
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
else:
    asyncio.run(_run_async())
