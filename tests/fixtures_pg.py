"""A pytest plugin providing a real, throwaway PostgreSQL 15 server.

``postgres_url`` (session scope) is an asyncpg URL of a fresh database on a server started in
a temporary directory on a free loopback port, stopped and deleted at the end of the session.
If ``CC_TEST_POSTGRES_URL`` is set, that URL is used instead and nothing is started.

``create_database(url)`` / ``drop_database(url)`` make and remove further fresh databases on
the same server (for per-test isolation); the URL's user needs ``CREATEDB``.

Register with ``pytest_plugins = ["tests.fixtures_pg"]`` in the root conftest, or import the
fixture into a package's conftest.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from cluster.etcd_server import free_port

PG_BIN = Path(os.environ.get("CC_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
ENV_URL = "CC_TEST_POSTGRES_URL"
_counter = itertools.count(1)


def _as_postgres(args: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() == 0:
        return ["su", "postgres", "-c", shlex.join(args)]
    return args


class PostgresServer:
    """``initdb`` + ``pg_ctl start`` in a temporary directory; :meth:`stop` removes it all."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="cc-pg-"))
        self.data = self.base / "data"
        self.port = 0
        self.started = False

    def _run(self, args: list[str]) -> None:
        result = subprocess.run(_as_postgres(args), capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}")

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self._run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        for _attempt in range(3):
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    [
                        str(PG_BIN / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-o",
                        options,
                        "-l",
                        str(self.base / "server.log"),
                        "-w",
                        "-t",
                        "30",
                        "start",
                    ]
                )
            except RuntimeError:
                continue  # the port was taken between probing and binding: try another
            self.started = True
            return self
        log = self.base / "server.log"
        raise RuntimeError(f"PostgreSQL did not start: {log.read_text() if log.exists() else ''}")

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database_sync(self, name: str) -> str:
        self._run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ]
        )
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            if self.started:
                self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _dsn(url: str) -> str:
    """asyncpg wants ``postgresql://``; SQLAlchemy URLs say ``postgresql+asyncpg://``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(url: str, name: str | None = None) -> str:
    """Create a fresh database on the server of ``url``; returns its asyncpg URL."""
    name = name or f"cc_test_{os.getpid()}_{next(_counter)}"
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await connection.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, url: str) -> None:
    """Drop the database of ``url`` (connecting through ``server_url``'s database)."""
    name = make_url(url).database
    connection = await asyncpg.connect(_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """asyncpg URL of a fresh database on a throwaway PostgreSQL 15 (or CC_TEST_POSTGRES_URL)."""
    configured = os.environ.get(ENV_URL)
    if configured:
        yield configured
        return
    server = PostgresServer()
    try:
        server.start()
        yield server.create_database_sync("cc_test")
    finally:
        server.stop()
