"""``callcenter migrate``: upgrade, current, history and offline SQL for a DBA, on real SQLite
and PostgreSQL; and a site told not to migrate on start refuses a stale schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from site_node.storage.errors import SchemaNotCurrent
from site_node.storage.migrate import current_revision, head_revision, migrate, require_current
from tests.fixtures_pg import create_database, drop_database


def callcenter(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cluster.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_sql_prints_the_ddl_for_a_dba_and_touches_nothing(tmp_path: Path) -> None:
    result = callcenter("migrate", "--sql", "--database-url", "postgresql://dba@db.invalid/site")
    assert result.returncode == 0, result.stderr
    ddl = result.stdout
    for statement in ("CREATE TABLE alembic_version", "CREATE TABLE calls", "CREATE TABLE audit_log", "COMMIT"):
        assert statement in ddl
    assert f"'{head_revision()}'" in ddl
    ranged = callcenter(
        "migrate", "--sql", "--revision", "0005_cdr_whole_call:head", "--database-url", "postgresql://x@h/db"
    )
    assert ranged.returncode == 0, ranged.stderr
    assert "CREATE TABLE calls" not in ranged.stdout and "0006_audit_chain" in ranged.stdout


@pytest.mark.parametrize(
    ("args", "error_id"),
    [
        (["--sql", "--database-url", "sqlite:///x.db"], "storage.offline_sql_unsupported"),
        (["current", "--sql"], "migrate.bad_request"),
        (["--target", "nosuchdb"], "migrate.unknown_target"),
    ],
)
def test_bad_requests_are_refused_with_a_stable_id(args: list[str], error_id: str, tmp_path: Path) -> None:
    result = callcenter("migrate", *args)
    assert result.returncode != 0
    assert error_id in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_history_lists_every_revision_newest_first() -> None:
    result = callcenter("migrate", "history")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{lines[0].split(' -> ')[0]} -> {head_revision()} (head)")
    assert lines[-1].startswith("<base> -> 0001_initial")


async def test_upgrade_and_current_on_the_configured_database(db_url: str) -> None:
    env = {"CC_SITE__DATABASE_URL": db_url, "CC_FOR_BUILD": "gcc"}
    before = callcenter("migrate", "current", env=env)
    assert before.returncode == 0, before.stderr
    assert "empty database" in before.stdout
    upgraded = callcenter("migrate", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"site database at revision {head_revision()}" in upgraded.stdout
    assert callcenter("migrate", "current", "--database-url", db_url).stdout.strip() == head_revision()
    assert await current_revision(db_url) == head_revision()


@pytest.mark.postgres
async def test_the_offline_script_builds_the_same_schema_on_postgresql(postgres_url: str) -> None:
    url = await create_database(postgres_url)
    try:
        script = callcenter("migrate", "--sql", "--database-url", url)
        assert script.returncode == 0, script.stderr
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(script.stdout)
        finally:
            await conn.close()
        assert await current_revision(url) == head_revision()
        assert await require_current(url) == head_revision()
    finally:
        await drop_database(postgres_url, url)


async def test_a_site_that_does_not_migrate_refuses_a_stale_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'site.db'}"
    with pytest.raises(SchemaNotCurrent) as caught:
        await require_current(url)
    assert caught.value.error_id == "storage.schema_not_current"
    assert "callcenter migrate --target site" in caught.value.message
    await migrate(url, "0005_cdr_whole_call")
    with pytest.raises(SchemaNotCurrent):
        await require_current(url)
    await migrate(url)
    assert await require_current(url) == head_revision()
