"""Database URLs: a SQLite file per site by default, PostgreSQL by URL, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from site_node.storage import Storage, StorageError, database_url, default_database_url
from site_node.storage.engine import check_url


def test_default_is_a_sqlite_file_per_site(tmp_path: Path) -> None:
    url = default_database_url(tmp_path / "data", "branch-north")

    assert url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'branch-north.db'}"
    assert (tmp_path / "data").is_dir()
    assert database_url(None, data_dir=tmp_path / "data", site="branch-north") == url


def test_configured_urls_get_an_async_driver() -> None:
    assert check_url("postgresql://u:p@db:5432/cc") == "postgresql+asyncpg://u:p@db:5432/cc"
    assert check_url("sqlite:////var/cc/a.db") == "sqlite+aiosqlite:////var/cc/a.db"
    with pytest.raises(StorageError) as caught:
        check_url("mysql://u@db/cc")
    assert caught.value.error_id == "storage.bad_url"


async def test_a_site_opens_its_default_database(tmp_path: Path) -> None:
    url = database_url(None, data_dir=tmp_path, site="branch-east")
    async with await Storage.open(url) as storage:
        assert storage.dialect == "sqlite"
        await storage.calls.upsert_call({"call_id": "c1", "site": "branch-east"})
    assert (tmp_path / "branch-east.db").stat().st_size > 0
