"""The schema comes from Alembic, on SQLite and PostgreSQL, and equals the models (no drift)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from site_node.storage import (
    MigrationFailed,
    Storage,
    StorageUnavailable,
    current_revision,
    head_revision,
    migrate,
)
from site_node.storage.engine import create_engine
from site_node.storage.migrate import downgrade
from site_node.storage.models import metadata

CDR_COLUMNS = [
    "call_id", "site", "queue", "skill", "priority", "caller_number", "dialled_number",
    "customer_id", "agent_id", "flow_id", "flow_version", "original_arrival_at", "arrival_at",
    "ivr_start_at", "ivr_end_at", "queued_at", "offered_at", "answered_at", "ended_at",
    "wrap_up_end_at", "hold_total_s", "transfers", "failovers", "callback_requested",
    "end_reason",
]  # fmt: skip


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _describe(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    return {
        "tables": tables,
        "calls": [c["name"] for c in inspector.get_columns("calls")] if "calls" in tables else [],
        "calls_indexes": {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("calls")}
        if "calls" in tables
        else {},
    }


async def _inspect(url: str) -> tuple[list[Any], dict[str, Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff), await connection.run_sync(_describe)
    finally:
        await engine.dispose()


async def test_migrate_creates_the_models_schema_without_drift(db_url: str) -> None:
    assert await current_revision(db_url) is None

    assert await migrate(db_url) == head_revision()

    diff, described = await _inspect(db_url)
    assert diff == []
    assert set(metadata.tables) <= described["tables"]
    assert "alembic_version" in described["tables"]
    assert described["calls"] == CDR_COLUMNS
    assert described["calls_indexes"]["ix_calls_site_arrival_at"] == ["site", "arrival_at"]


async def test_migrate_is_idempotent_and_reversible(db_url: str) -> None:
    await migrate(db_url)
    assert await migrate(db_url) == head_revision()

    await downgrade(db_url, "base")
    assert await current_revision(db_url) is None
    _diff_after, described = await _inspect(db_url)
    assert described["tables"] <= {"alembic_version"}

    await migrate(db_url)
    diff, _described = await _inspect(db_url)
    assert diff == []


async def test_a_database_from_the_future_is_refused(db_url: str) -> None:
    await migrate(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'zzz_future'"))
    finally:
        await engine.dispose()

    with pytest.raises(MigrationFailed) as caught:
        await migrate(db_url)
    assert caught.value.error_id == "storage.migration_failed"


async def test_an_unreachable_database_is_reported_as_unavailable() -> None:
    with pytest.raises(StorageUnavailable) as caught:
        await Storage.open("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    assert caught.value.error_id == "storage.unavailable"
    assert caught.value.status == 503
