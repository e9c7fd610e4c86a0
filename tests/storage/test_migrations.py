"""The schema comes from Alembic, on SQLite and PostgreSQL, and equals the models (no drift)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from cluster.cdr import CDR_COLUMNS as CDR_SCHEMA
from site_node.storage import (
    DispositionRecord,
    MigrationFailed,
    SensitiveDataRejected,
    Storage,
    StorageUnavailable,
    current_revision,
    head_revision,
    migrate,
)
from site_node.storage.engine import create_engine
from site_node.storage.migrate import downgrade
from site_node.storage.models import metadata

CDR_COLUMNS = list(CDR_SCHEMA)  # the one list of CDR columns, in the storage's order


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


async def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                table: [tuple(row) for row in await connection.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
                for table in ("customers", "customer_phones", "accounts")
            }
    finally:
        await engine.dispose()


async def test_adding_the_pin_column_keeps_existing_customers(db_url: str) -> None:
    assert await migrate(db_url, "0001_initial") == "0001_initial"
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO customers (id, customer_number, name, segment, home_site, language, created_at) "
                    "VALUES ('c-1', '10000001', 'Alice Weber', 'vip', 'branch-north', 'de', 1767225600.5), "
                    "('c-2', '10000002', 'Bob Novak', 'retail', NULL, 'en', NULL)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO customer_phones (customer_id, number, kind) "
                    "VALUES ('c-1', '+491701234567', 'mobile'), ('c-2', '+4930765432', 'landline')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO accounts (customer_id, kind, masked_number, number_hash, currency) "
                    "VALUES ('c-1', 'checking', '**** **** 9012', 'ab12', 'EUR')"
                )
            )
    finally:
        await engine.dispose()
    before = await _rows(db_url)

    assert await migrate(db_url) == "0008_agent_sessions_ivr_path" == head_revision()

    after = await _rows(db_url)
    assert after["customers"] == [(*row, None) for row in before["customers"]]  # pin_hash NULL
    assert {k: v for k, v in after.items() if k != "customers"} == {k: v for k, v in before.items() if k != "customers"}
    diff, _described = await _inspect(db_url)
    assert diff == []
    async with await Storage.open(db_url) as storage:
        view = await storage.customers.by_id("c-1")
        assert view is not None and (view.name, view.phones) == ("Alice Weber", ("+491701234567",))
        await storage.customers.set_pin("c-1", "1357")
        assert await storage.customers.verify_pin("c-1", "1357")

    assert await downgrade(db_url, "0001_initial") == "0001_initial"  # and back: rows kept
    assert await _rows(db_url) == before


async def test_adding_resumed_from_keeps_existing_cdrs(db_url: str) -> None:
    assert await migrate(db_url, "0002_customer_pin") == "0002_customer_pin"
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO calls (call_id, site, priority, hold_total_s, transfers, failovers, "
                     "callback_requested, end_reason) "
                     "VALUES ('call-1', 'branch-north', 0, 0, 0, 1, false, 'answered_completed')")
            )
    finally:
        await engine.dispose()
    assert await migrate(db_url) == head_revision()
    async with await Storage.open(db_url) as storage:
        row = await storage.calls.get_call("call-1")
        assert row is not None and (row.failovers, row.end_reason, row.resumed_from) == (1, "answered_completed", None)
        await storage.calls.upsert_call({**row.as_dict(), "resumed_from": "connected"})
        again = await storage.calls.get_call("call-1")
        assert again is not None and again.resumed_from == "connected"
    assert await downgrade(db_url, "0002_customer_pin") == "0002_customer_pin"
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            rows = list(await connection.execute(text("SELECT call_id, failovers FROM calls")))
            assert [tuple(r) for r in rows] == [("call-1", 1)]
    finally:
        await engine.dispose()


async def test_adding_dispositions_keeps_existing_cdrs_and_stores_wrap_up(db_url: str) -> None:
    assert await migrate(db_url, "0003_cdr_resumed_from") == "0003_cdr_resumed_from"
    async with await Storage.open(db_url) as storage:
        await storage.calls.upsert_call({"call_id": "call-1", "site": "branch-north", "customer_id": "c-1"})
    assert await migrate(db_url) == head_revision()
    async with await Storage.open(db_url) as storage:
        assert await storage.calls.get_call("call-1") is not None
        await storage.calls.save_disposition(
            DispositionRecord("call-1", "c-1", "north-01", "resolved", "card 4111 1111 1111 1111 blocked",
                              {"customer_number": "10000001"}, {"verified": True}, ("asked for a new card",), 5.0)
        )
        saved = (await storage.calls.dispositions(["call-1", "nope"]))["call-1"]
        assert saved.code == "resolved" and saved.notes == "card ************1111 blocked"
        assert saved.collected == {"customer_number": "10000001"} and saved.actions == ("asked for a new card",)
        with pytest.raises(SensitiveDataRejected):
            await storage.calls.save_disposition(DispositionRecord("call-2", collected={"pin": "123456"}))
        assert "call-2" not in await storage.calls.dispositions(["call-2"])
    assert await downgrade(db_url, "0003_cdr_resumed_from") == "0003_cdr_resumed_from"
    async with await Storage.open(db_url) as storage:
        assert await storage.calls.get_call("call-1") is not None


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
