"""Finding 12: an audit trail a compliance officer can read. Entries carry actor, role, time,
site and target and are hash-chained per site; the table refuses UPDATE and DELETE (triggers,
and on PostgreSQL the application role's grants, tested against a real server); editing,
deleting or inserting a row behind the application's back is found by ``callcenter audit
verify``. The storage tests run on real SQLite and PostgreSQL; the HTTP ones against a real
cluster (tests/security/test_audit_http.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tomllib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from site_node.audit import AUDIT_WRITE_FAILURES, AuditTrail
from site_node.storage import Storage, StorageUnavailable
from site_node.storage.audit import verify_database
from site_node.storage.chain import GENESIS, entry_hash
from site_node.storage.engine import create_engine
from site_node.storage.migrate import migrate
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'site.db'}"
        return
    server_url = str(request.getfixturevalue("postgres_url"))
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


async def _sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _is_pg(url: str) -> bool:
    return url.startswith("postgresql")


async def _trail(url: str, n: int = 5) -> list[int]:
    async with await Storage.open(url, site="branch-north") as storage:
        ids = [await storage.audit.audit(at=1000.0 + i, actor=f"north-{i:02d}", action="login", target="branch-north",
                                         details={"i": i}) for i in range(n)]  # fmt: skip
    return ids


# ---- entries and chain ----------------------------------------------------------------------
async def test_entries_carry_actor_role_time_site_and_target_and_chain(db_url: str) -> None:
    async with await Storage.open(db_url, site="branch-north") as storage:
        await storage.audit.audit(at=10.5, actor="north-10", action="login", target="branch-north", details={})
        await storage.audit.audit(at=11.0, actor="north-01", action="flow_published", target="loans",
                                  details={"version": 3}, role="manager")
        entries = await storage.audit.entries()
        report = await storage.audit.verify()
    assert [(e.at, e.actor, e.role, e.site, e.action, e.target) for e in entries] == [
        (10.5, "north-10", "", "branch-north", "login", "branch-north"),
        (11.0, "north-01", "manager", "branch-north", "flow_published", "loans"),
    ]
    assert report.ok and report.chains["branch-north"].entries == 2
    assert report.chains["branch-north"].head == entries[-1].hash != GENESIS


async def test_concurrent_writers_in_two_processes_do_not_fork_the_chain(db_url: str) -> None:
    one = await Storage.open(db_url, site="branch-north")
    two = await Storage.open(db_url, site="branch-north")  # its own engine: like a second process
    try:
        await asyncio.gather(*(s.audit.audit(at=float(i), actor="x", action="login") for i in range(20)
                               for s in (one, two)))  # fmt: skip
        rows = await one.audit.chain_rows()
    finally:
        await one.close()
        await two.close()
    assert len(rows) == 40 and len({r.prev_hash for r in rows}) == 40  # no two entries share a parent
    assert (await verify_database(db_url)).ok


async def test_a_migrated_database_chains_the_entries_it_had(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await migrate(url, "0005_cdr_whole_call")
    await _sql(url, "INSERT INTO audit_log (at, actor, action, target, details) VALUES (1.0, 'a', 'login', 't', '{}')")
    await migrate(url)
    async with await Storage.open(url, site="branch-north") as storage:
        await storage.audit.audit(at=2.0, actor="b", action="login")
        report = await storage.audit.verify()
    assert report.ok and {s: c.entries for s, c in report.chains.items()} == {"": 1, "branch-north": 1}


# ---- append-only ----------------------------------------------------------------------------
async def test_the_table_refuses_update_and_delete(db_url: str) -> None:
    await _trail(db_url, 2)
    refused = ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"]
    if _is_pg(db_url):
        refused.append("TRUNCATE audit_log")
    for statement in refused:
        with pytest.raises(Exception, match="append-only"):
            await _sql(db_url, statement)
    assert (await verify_database(db_url)).chains["branch-north"].entries == 2


def _owner_bypass(url: str) -> list[str]:
    """What the owner must do first to tamper: drop (SQLite) or disable (PostgreSQL) the triggers."""
    if _is_pg(url):
        return ["ALTER TABLE audit_log DISABLE TRIGGER USER"]
    return ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]


TAMPERING = ("edited", "deleted", "inserted")


@pytest.mark.parametrize("tampering", TAMPERING)
async def test_verify_finds_an_entry_edited_deleted_or_inserted_by_the_owner(db_url: str, tampering: str) -> None:
    ids = await _trail(db_url, 5)
    assert (await verify_database(db_url)).ok
    rows = await _chain(db_url)
    statements = {
        "edited": f"UPDATE audit_log SET actor = 'nobody' WHERE id = {ids[2]}",
        "deleted": f"DELETE FROM audit_log WHERE id = {ids[2]}",
        "inserted": "INSERT INTO audit_log (at, actor, role, site, action, target, details, prev_hash, hash) "
                    f"VALUES (1002.5, 'ghost', 'admin', 'branch-north', 'login', NULL, '{{}}', '{rows[1].hash}', "
                    f"'{entry_hash(str(rows[1].hash), 1002.5, 'ghost', 'admin', 'branch-north', 'login', None, {})}')",
    }
    await _sql(db_url, *_owner_bypass(db_url), statements[tampering])
    if tampering == "inserted":  # the application writes on, after the intruder
        await _trail(db_url, 1)
    broken = (await verify_database(db_url)).first_break
    assert broken is not None and broken.problem == tampering
    first_bad = {"edited": ids[2], "deleted": ids[3], "inserted": ids[-1] + 1}[tampering]
    assert broken.entry_id == first_bad and f"audit entry {first_bad}" in broken.describe()


async def _chain(url: str) -> list[Any]:
    async with await Storage.open(url, site="branch-north") as storage:
        return await storage.audit.chain_rows()


# ---- the command ----------------------------------------------------------------------------
def _command_env(tmp_path: Path) -> dict[str, str]:
    """The ``callcenter.commands`` entry points as pyproject.toml declares them, in a dist-info
    of their own on the path (the installed package is another checkout's)."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["callcenter.commands"]
    info = tmp_path / "entrypoints" / "callcenter_audit_test-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: callcenter-audit-test\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[callcenter.commands]\n" + "".join(f"{k} = {v}\n" for k, v in
                                                                            declared.items()))
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(info.parent)])}


def _verify(url: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cluster.cli", "audit", "verify", "--database-url", url, *extra],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


async def test_the_verify_command_exits_non_zero_naming_the_first_bad_entry(db_url: str, tmp_path: Path) -> None:
    ids = await _trail(db_url, 4)
    env = _command_env(tmp_path)
    intact = await asyncio.to_thread(_verify, db_url, env)
    assert intact.returncode == 0, intact.stderr
    assert "site branch-north: 4 entries" in intact.stdout and "intact" in intact.stdout
    head = intact.stdout.split("head ", 1)[1].split(",", 1)[0]
    await _sql(db_url, *_owner_bypass(db_url), f"UPDATE audit_log SET target = 'elsewhere' WHERE id = {ids[1]}")
    broken = await asyncio.to_thread(_verify, db_url, env)
    assert broken.returncode == 1
    assert f"audit entry {ids[1]} was edited" in broken.stderr
    await _sql(db_url, f"DELETE FROM audit_log WHERE id >= {ids[1]}")  # cut the newest entries off
    cut = await asyncio.to_thread(_verify, db_url, env, "--expect-head", f"branch-north={head}")
    assert cut.returncode == 1 and "no longer in the chain" in cut.stderr


# ---- PostgreSQL grants ----------------------------------------------------------------------
@pytest.mark.postgres
async def test_postgres_app_role_may_insert_and_read_but_the_server_refuses_update_and_delete(
    postgres_url: str,  # noqa: F811
) -> None:
    owner_url = await create_database(postgres_url)
    app = f"cc_app_{uuid.uuid4().hex[:8]}"
    dsn = make_url(owner_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE ROLE "{app}" LOGIN')
        await migrate(owner_url, "0005_cdr_whole_call")
        # a DBA's usual grant on every table, before the audit migration runs
        await admin.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{app}"')
        await admin.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app}"')
        await migrate(owner_url, app_role=app)
        app_url = make_url(owner_url).set(username=app).render_as_string(hide_password=False)
        async with await Storage.open(app_url, site="branch-north", app_role=app) as storage:  # up to date: no DDL
            await storage.audit.audit(at=1.0, actor="north-10", action="login", role="admin")
            assert [e.actor for e in await storage.audit.entries()] == ["north-10"]
        as_app = await asyncpg.connect(make_url(dsn).set(username=app).render_as_string(hide_password=False))
        try:
            for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                              "ALTER TABLE audit_log DISABLE TRIGGER USER"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
                    await as_app.execute(statement)
                assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)
            await as_app.execute("UPDATE agents SET name = name")  # its other grants are left alone
        finally:
            await as_app.close()
        assert (await verify_database(owner_url)).ok
    finally:
        await admin.execute(f'DROP OWNED BY "{app}"')
        await admin.close()
        await drop_database(postgres_url, owner_url)
        server = await asyncpg.connect(make_url(dsn).set(database="postgres").render_as_string(hide_password=False))
        try:
            await server.execute(f'DROP ROLE IF EXISTS "{app}"')
        finally:
            await server.close()


# ---- a write that fails -----------------------------------------------------------------------
class _DownAudit:
    async def audit(self, **_: Any) -> int:
        raise StorageUnavailable("the database is away")


class _DownStorage:
    audit = _DownAudit()


class _Clock:
    def now(self) -> float:
        return 5.0


async def test_a_failed_audit_write_is_logged_and_counted_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    trail = AuditTrail(lambda: _DownStorage(), _Clock())  # type: ignore[arg-type, return-value]
    before = AUDIT_WRITE_FAILURES.labels("customer_viewed")._value.get()
    assert await trail.record(actor="north-04", action="customer_viewed", target="c-17") is False
    assert AUDIT_WRITE_FAILURES.labels("customer_viewed")._value.get() == before + 1
    assert any("audit entry NOT written" in r.getMessage() or "NOT written" in str(r.__dict__) for r in caplog.records)
