"""Storage tests run against SQLite (a temporary file) and a real PostgreSQL 15."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from site_node.storage import Storage
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the backend under test (a fresh PostgreSQL database per test)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'site.db'}"
        return
    server_url = str(request.getfixturevalue("postgres_url"))
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    """A migrated, connected :class:`Storage`."""
    store = await Storage.open(db_url)
    yield store
    await store.close()
