"""The business database's Alembic migrations build exactly the registered schema (customers,
work orders, notifications, campaigns) on real SQLite and PostgreSQL, step back and forth, and are what
``callcenter migrate --target business`` shows and runs."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from central.business.config import BusinessConfig
from central.business.db import VERSION_TABLE, alembic_config, migrate
from central.business.migrate import BUSINESS_MIGRATIONS, current_revision, downgrade
from central.business.schema import METADATA_MODULES, hand_made, metadatas
from cluster import config, migrations
from site_node.storage.engine import create_engine
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401

WORK_ORDER_TABLES = {"wo_departments", "wo_department_members", "work_orders", "wo_call_links",
                     "wo_status_history", "wo_comments", "wo_attachments", "wo_escalations",
                     "notifications", "notify_outbox", "campaigns", "campaign_contacts", "campaign_attempts",
                     "do_not_call", "kb_articles", "kb_versions", "kb_feedback", "kb_audit", "ev_events",
                     "ev_subscriptions", "sop_definitions", "sop_instances", "sop_history", "qa_forms",
                     "qa_evaluations"}  # fmt: skip
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _drift(connection: Connection) -> list[Any]:
    both = sa.MetaData()
    for source in metadatas():
        for table in source.sorted_tables:
            table.to_metadata(both)

    def ours(name: str | None, type_: str, parent: Any) -> bool:  # the search indexes are made by hand
        return not hand_made(name) and name != VERSION_TABLE

    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": ours})
    return list(compare_metadata(context, both))


def _tables(connection: Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


async def _check(url: str) -> None:
    assert await migrate(url) == HEAD
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_drift) == []
            assert WORK_ORDER_TABLES <= await conn.run_sync(_tables)
        assert await downgrade(url, "0001") == "0001"
        async with engine.connect() as conn:
            left = await conn.run_sync(_tables)
        assert not WORK_ORDER_TABLES & left and "crm_customers" in left
        assert await migrate(url) == HEAD and await current_revision(url) == HEAD
    finally:
        await engine.dispose()


def test_every_feature_registers_its_tables() -> None:
    assert METADATA_MODULES == ["central.crm.models", "central.workorders.tables", "central.notify.tables",
                                "central.campaigns.models", "central.knowledge.models",
                                "central.events.tables", "central.sop.models", "central.qa.models"]  # fmt: skip


async def test_the_migrations_build_the_registered_schema_on_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}")


@pytest.mark.postgres
async def test_the_migrations_build_the_registered_schema_on_postgresql(postgres_url: str) -> None:  # noqa: F811
    url = await create_database(postgres_url)
    try:
        await _check(url)
    finally:
        await drop_database(postgres_url, url)


def test_callcenter_migrate_shows_and_runs_the_business_revisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the target as pyproject.toml registers it (the installed metadata may predate this build)
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    spec = project["project"]["entry-points"]["callcenter.migrations"]["business"]
    point = EntryPoint("business", spec, migrations.TARGETS_GROUP)
    assert point.load() is BUSINESS_MIGRATIONS
    monkeypatch.setattr(migrations, "registered_targets", lambda: {"business": point})
    section = project["project"]["entry-points"]["callcenter.config"]["business"].split("#")[0].strip()
    model = EntryPoint("business", section, config.SECTIONS_GROUP).load()
    assert model is BusinessConfig  # the ``business`` section: CC_BUSINESS__* is read by every command
    sections = {**config.contributed_sections(), "business": model}
    monkeypatch.setattr(config, "contributed_sections", lambda: sections)
    history = migrations.run_migrate("business", "history", url=None, sql=False, revision="head", config=None)
    assert history[0].startswith(f"{HEAD} (head)") or f"-> {HEAD} (head)" in history[0]
    assert any("Work orders" in line for line in history) and history[-1].startswith("<base> -> 0001")
    url = f"sqlite+aiosqlite:///{tmp_path / 'business.db'}"
    run = migrations.run_migrate
    configured = tmp_path / "configured.db"
    monkeypatch.setenv("CC_BUSINESS__DATABASE_URL", f"sqlite+aiosqlite:///{configured}")
    assert run("business", "upgrade", url=None, sql=False, revision="0001", config=None) == [
        "business database at revision 0001"
    ]
    assert configured.exists()
    assert run("business", "current", url=url, sql=False, revision="head", config=None) == ["<none: empty database>"]
    assert run("business", "upgrade", url=url, sql=False, revision="head", config=None) == [
        f"business database at revision {HEAD}"
    ]
    assert run("business", "current", url=url, sql=False, revision="head", config=None) == [HEAD]
    with pytest.raises(Exception) as refused:
        run("business", "upgrade", url="postgresql://dba@db.invalid/b", sql=True, revision="head", config=None)
    assert getattr(refused.value, "error_id", "") == "storage.offline_sql_unsupported"
