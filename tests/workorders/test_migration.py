"""The migration creates exactly the tables of ``tables.py`` and drops them again."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations

from central.notify.tables import metadata as notify_metadata
from central.workorders import migration
from central.workorders.tables import metadata as workorder_metadata


def test_migration_matches_the_tables(tmp_path: Path) -> None:
    both = sa.MetaData()
    for source in (workorder_metadata, notify_metadata):
        for table in source.sorted_tables:
            table.to_metadata(both)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        migration.upgrade(Operations(MigrationContext.configure(conn)))
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), both) == []
    with engine.begin() as conn:
        migration.downgrade(Operations(MigrationContext.configure(conn)))
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
