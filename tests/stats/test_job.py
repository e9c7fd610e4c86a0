"""The Ray job against real SQLite files: equal to the pandas baseline, missing sites reported,
malformed records counted, outputs written (report, JSON, stats_aggregates)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import ray
from click.testing import CliRunner

from central.stats.cli import stats_command
from central.stats.db import read_aggregates
from central.stats.job import StatsResult, run_local, run_ray
from central.stats.kpi import END_REASONS
from central.stats.params import KpiParams
from central.stats.report import store_aggregates, to_json, write_report
from central.stats.sources import CallSource, DatabaseSource
from central.stats.staffing import staffing_table
from central.stats.synthetic import synthetic_calls, write_sqlite

FIRST_DAY = 20_000  # epoch day: 2024-10-04
DAYS = 5
PER_DAY = 10_000  # 2 sites x 5 days x 10,000 = 100,000 records


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024 * 1024,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def site_dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("sites")
    frames = {}
    sources: dict[str, CallSource] = {}
    for i, site in enumerate(("north", "south")):
        df = synthetic_calls(site, FIRST_DAY, DAYS, PER_DAY, seed=10 + i, malformed_rate=0.001)
        frames[site] = df
        sources[site] = DatabaseSource(write_sqlite(base / f"{site}.db", df))
    # one record without arrival time at north (it belongs to no day)
    with sqlite3.connect(base / "north.db") as conn:
        conn.execute("INSERT INTO calls (call_id, site, queue, end_reason) "
                     "VALUES ('x-1', 'north', 'retail', 'error')")
    conn.close()
    # a database file without a calls table, and a path that does not exist
    sqlite3.connect(base / "empty.db").close()
    sources["west"] = DatabaseSource(f"sqlite:///{base / 'empty.db'}")
    sources["east"] = DatabaseSource(f"sqlite:///{base / 'nowhere' / 'east.db'}")
    return {"sources": sources, "frames": frames, "base": base}


@pytest.fixture(scope="module")
def results(ray_local: None, site_dbs: dict) -> tuple[StatsResult, StatsResult]:
    params = KpiParams()
    lines: list[str] = []
    on_ray = run_ray(site_dbs["sources"], params=params, progress=lines.append)
    local = run_local(site_dbs["sources"], params=params)
    assert any("[10/10]" in line for line in lines), lines  # one line per (site, day) task
    return on_ray, local


def test_ray_equals_single_process_pandas(results: tuple[StatsResult, StatsResult]) -> None:
    on_ray, local = results
    # a probe per site, a task per reachable site-day, a merge per reachable site
    assert on_ray.tasks == 4 + 2 * DAYS + 2
    pd.testing.assert_frame_equal(on_ray.kpis, local.kpis)
    assert on_ray.malformed == local.malformed
    assert on_ray.rows == local.rows == {"north": 50_001, "south": 50_000}
    assert on_ray.first_day == dt.date(2024, 10, 4) and on_ray.last_day == dt.date(2024, 10, 8)
    site_rows = on_ray.kpis[on_ray.kpis["level"] == "site"]
    good = 100_000 - sum(sum(r.values()) for r in on_ray.malformed.values()) + 1
    assert int(site_rows["calls"].sum()) == good


def test_unreachable_sites_are_reported_and_others_computed(
    results: tuple[StatsResult, StatsResult],
) -> None:
    on_ray, local = results
    assert set(on_ray.missing) == {"east", "west"} == set(local.missing)
    assert "unable to open database file" in on_ray.missing["east"]
    assert "no such table: calls" in on_ray.missing["west"]
    assert on_ray.sites == ["north", "south"]
    assert set(on_ray.kpis["site"]) == {"north", "south"}


def test_malformed_records_counted_per_reason(
    results: tuple[StatsResult, StatsResult], site_dbs: dict
) -> None:
    on_ray, _ = results
    for site, df in site_dbs["frames"].items():
        expected = {
            "null_queue": int(df["queue"].isna().sum()),
            "unknown_end_reason": int((~df["end_reason"].isin(END_REASONS)).sum()),
            "ended_before_arrival": int((df["ended_at"] < df["arrival_at"]).sum()),
        }
        if site == "north":
            expected["null_arrival_at"] = 1
        assert on_ray.malformed[site] == {k: v for k, v in sorted(expected.items()) if v}
        assert sum(expected.values()) > 0


def test_report_json_and_aggregates(results: tuple[StatsResult, StatsResult],
                                    tmp_path: Path) -> None:
    on_ray, _ = results
    staffing = staffing_table(on_ray.kpis, on_ray.params, erlang_a=False)
    paths = write_report(tmp_path / "out", on_ray, staffing)
    html = paths["html"].read_text()
    assert "Missing sites (2)" in html and "east" in html and "west" in html
    assert html.count("<svg") == 6  # three charts per site
    assert "<script" not in html and "src=" not in html and "href=" not in html
    data = json.loads(paths["json"].read_text())
    assert data["missing_sites"].keys() == {"east", "west"}
    assert len(data["kpis"]) == len(on_ray.kpis)
    assert data == json.loads(json.dumps(to_json(on_ray, staffing)))

    url = f"sqlite:///{tmp_path / 'central.db'}"
    n = store_aggregates(url, on_ray, computed_at=1.0)
    assert n == len(on_ray.kpis)
    store_aggregates(url, on_ray, computed_at=2.0)  # a rerun replaces, never duplicates
    stored = read_aggregates(url)
    assert len(stored) == n
    site_rows = [r for r in stored if r["queue"] is None and r["agent_id"] is None]
    expected = on_ray.kpis[on_ray.kpis["level"] == "site"]
    assert len(site_rows) == len(expected)
    first = min(site_rows, key=lambda r: (r["site"], r["interval_start"]))
    top = expected.sort_values(["site", "interval_start"]).iloc[0]
    assert first["kpis"]["offered"] == top["offered"]
    assert first["computed_at"] == 2.0


def test_cli_on_ray(ray_local: None, site_dbs: dict, tmp_path: Path) -> None:
    base = site_dbs["base"]
    runner = CliRunner()
    result = runner.invoke(
        stats_command,
        [
            "--site", f"north=sqlite:///{base / 'north.db'}",
            "--site", f"east=sqlite:///{base / 'nowhere' / 'east.db'}",
            "--from", "2024-10-05", "--to", "2024-10-06", "--interval", "30",
            "--abandon-treatment", "positive", "--no-erlang-a",
            "--out", str(tmp_path / "cli"), "--store-url", f"sqlite:///{tmp_path / 'c.db'}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "MISSING site east" in result.output
    data = json.loads((tmp_path / "cli" / "stats.json").read_text())
    assert data["params"]["interval_s"] == 1800
    assert data["params"]["abandon_treatment"] == "positive"
    assert (data["first_day"], data["last_day"]) == ("2024-10-05", "2024-10-06")
    assert data["rows_read"] == {"north": 2 * PER_DAY + 1}
    assert (tmp_path / "cli" / "report.html").exists()


def test_cli_rejects_bad_site_argument() -> None:
    result = CliRunner().invoke(stats_command, ["--site", "north", "--local"])
    assert result.exit_code == 2
    assert "NAME=URL" in result.output
