"""The same statistics from PostgreSQL (asyncpg) as from SQLite, and aggregates stored there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from central.stats.db import read_aggregates
from central.stats.job import run_local
from central.stats.params import KpiParams
from central.stats.report import store_aggregates, write_report
from central.stats.sources import DatabaseSource
from central.stats.staffing import staffing_table
from central.stats.synthetic import synthetic_calls, write_calls, write_sqlite
from tests.fixtures_pg import create_database, drop_database

pytestmark = pytest.mark.postgres


def test_postgres_site_equals_sqlite_site(postgres_url: str, tmp_path: Path) -> None:
    url = asyncio.run(create_database(postgres_url))
    try:
        df = synthetic_calls("pg", 20_000, 2, 1_500, seed=7, malformed_rate=0.01)
        write_calls(url, df)
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        params = KpiParams(interval_s=1800)
        from_pg = run_local({"pg": DatabaseSource(plain)}, params=params)
        from_sqlite = run_local(
            {"pg": DatabaseSource(write_sqlite(tmp_path / "pg.db", df))}, params=params
        )
        assert from_pg.missing == {}
        pd.testing.assert_frame_equal(from_pg.kpis, from_sqlite.kpis)
        assert from_pg.malformed == from_sqlite.malformed and from_pg.malformed["pg"]
        n = store_aggregates(url, from_pg, computed_at=5.0)
        assert len(read_aggregates(url)) == n == len(from_pg.kpis)
    finally:
        asyncio.run(drop_database(postgres_url, url))


def test_unreachable_postgres_is_reported(tmp_path: Path) -> None:
    result = run_local(
        {"gone": DatabaseSource("postgresql://nobody:secret@127.0.0.1:1/none")},
        params=KpiParams(),
    )
    assert list(result.missing) == ["gone"]
    assert "secret" not in result.missing["gone"]
    assert result.kpis.empty
    paths = write_report(tmp_path, result, staffing_table(result.kpis, result.params))
    assert "Missing sites (1)" in paths["html"].read_text()
