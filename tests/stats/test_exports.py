"""Report exports (CSV, XLSX), the agent report and the charts, on real SQLite CDRs."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
from click.testing import CliRunner

from central.stats.cli import stats_command
from central.stats.export import AGENT_COLUMNS, agent_report
from central.stats.job import run_local
from central.stats.report import render_html
from central.stats.sources import DatabaseSource
from central.stats.staffing import staffing_table
from central.stats.synthetic import synthetic_calls, write_sqlite

DAY = 20_000  # 2024-10-04


def _db(tmp_path: Path, df: pd.DataFrame) -> str:
    return write_sqlite(tmp_path / "north.db", df)


def test_cli_exports_every_table_as_csv_and_xlsx(tmp_path: Path) -> None:
    df = synthetic_calls("north", DAY, 1, 400, seed=3, agents_per_queue=5)
    url = _db(tmp_path, df)
    out = tmp_path / "out"
    args = ["--site", f"north={url}", "--local", "--no-erlang-a", "--quiet", "--out", str(out)]
    result = CliRunner().invoke(stats_command, [*args, "--export", "csv", "--export", "xlsx"])
    assert result.exit_code == 0, result.output

    names = ("interval", "queue", "site", "agent", "agent_not_ready", "ivr", "ivr_nodes")
    tables = {name: pd.read_csv(out / f"{name}.csv") for name in names}
    assert set(tables["interval"]["level"]) == {"agent_queue", "agent", "queue", "site"}
    assert tables["site"]["offered"].sum() == tables["queue"]["offered"].sum() > 0
    agents = tables["agent"]
    assert list(agents.columns) == AGENT_COLUMNS
    answered = df["answered_at"].notna() & df["agent_id"].notna()
    assert agents["handled"].sum() == int(answered.sum())
    assert set(agents["agent_id"]) == set(df.loc[answered, "agent_id"])
    assert (agents["aht_s"] > 0).all() and agents["occupancy"].between(0, 1).all()

    ivr = tables["ivr"]
    entered = df["ivr_start_at"].notna()
    reached = df["queued_at"].notna() | df["offered_at"].notna() | df["answered_at"].notna()
    assert ivr["entered"].sum() == int(entered.sum())
    assert ivr["self_served"].sum() == int((entered & ~reached).sum())
    assert ivr["self_service_rate"].between(0, 1).all()

    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    assert book.sheetnames == list(names)
    rows = list(book["agent"].iter_rows(values_only=True))
    assert list(rows[0]) == AGENT_COLUMNS and len(rows) == len(agents) + 1


def test_agent_report_sums_hold_and_wrap_up(tmp_path: Path) -> None:
    df = synthetic_calls("north", DAY, 1, 200, seed=5, agents_per_queue=3)
    result = run_local({"north": DatabaseSource(_db(tmp_path, df))})
    report = agent_report(result)
    one = report.iloc[0]
    mine = df[(df["agent_id"] == one["agent_id"]) & df["answered_at"].notna()]
    assert one["handled"] == len(mine)
    assert abs(one["avg_hold_s"] - mine["hold_total_s"].mean()) < 0.01
    wrap = (mine["wrap_up_end_at"] - mine["ended_at"]).fillna(0)
    assert abs(one["avg_wrap_up_s"] - wrap.mean()) < 0.01


def test_charts_span_the_data_and_a_single_interval_draws_a_point(tmp_path: Path) -> None:
    df = synthetic_calls("north", DAY, 1, 200, seed=7, agents_per_queue=3)
    start = DAY * 86_400 + 10 * 3600  # 10:00 .. 10:10 UTC: one 15-minute interval
    df["arrival_at"] = start + (df.index % 600).astype(float)
    shift = df["arrival_at"] - synthetic_calls("north", DAY, 1, 200, seed=7, agents_per_queue=3)["arrival_at"]
    for col in ("ivr_start_at", "ivr_end_at", "queued_at", "offered_at", "answered_at", "ended_at", "wrap_up_end_at"):
        if col in df:
            df[col] = df[col] + shift
    result = run_local({"north": DatabaseSource(_db(tmp_path, df))})
    page = render_html(result, staffing_table(result.kpis, result.params, erlang_a=False))
    assert "<circle" in page  # the lone interval is drawn
    labels = set(re.findall(r">(\d\d-\d\d \d\d:\d\d)<", page))
    assert labels and all(label.startswith("10-04 10:") for label in labels)  # not 00:00 .. 24:00
