"""Report tables of a statistics run as CSV files and one XLSX workbook.

Tables: ``interval`` (every KPI row: level, interval, site, queue, agent), ``queue`` and
``site`` (period totals), ``agent`` (the agent report: handled, AHT, average hold and wrap-up,
logged-in and not-ready time, occupancy over the period); with the sites' databases also
``agent_not_ready`` (not-ready seconds per agent and reason code, long format, from the sites'
agent state sessions: :mod:`central.stats.agent_time`), ``ivr`` and ``ivr_nodes``
(:mod:`central.stats.ivr`).

Occupancy is ``busy / (logged in - not ready)`` from the agent's state sessions where the site
has them (``occupancy_from`` = ``sessions``), else the CDR approximation of
:mod:`central.stats.rollup` (``cdr``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from central.stats.agent_time import TIME_COLUMNS, not_ready_table, per_agent, read_agent_time
from central.stats.ivr import ivr_report
from central.stats.job import StatsResult
from central.stats.report import period_totals
from central.stats.sources import DAY_S, day_start

FORMATS = ("csv", "xlsx")
AGENT_COLUMNS = [
    "site", "agent_id", "handled", "aht_s", "avg_hold_s", "avg_wrap_up_s", "logged_in_s", "not_ready_s",
    "occupancy", "occupancy_from",
]  # fmt: skip


def _ratio(n: pd.Series, d: pd.Series) -> pd.Series:
    return (n / d.where(d > 0, np.nan)).astype("float64")


def agent_report(result: StatsResult, time: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per agent over the whole period; ``time``: :func:`~central.stats.agent_time.read_agent_time`
    (agents who only logged in, with no call, are rows too)."""
    k = result.kpis[result.kpis["level"] == "agent"]
    sessions = per_agent(time if time is not None else pd.DataFrame(columns=TIME_COLUMNS))
    if k.empty and sessions.empty:
        return pd.DataFrame(columns=AGENT_COLUMNS)
    cols = ["answered", "talk_ms", "hold_ms", "wrap_ms", "agents_busy_ms", "staffed_ms"]
    t = k.groupby(["site", "agent_id"], sort=True, as_index=False)[cols].sum()
    t = t.astype({"site": str, "agent_id": str}).merge(sessions, on=["site", "agent_id"], how="outer")
    t = t.sort_values(["site", "agent_id"])
    t[cols] = t[cols].fillna(0)
    t["handled"] = t["answered"].astype("int64")
    t["aht_s"] = _ratio(t["talk_ms"] + t["hold_ms"] + t["wrap_ms"], t["answered"]) / 1000.0
    t["avg_hold_s"] = _ratio(t["hold_ms"], t["answered"]) / 1000.0
    t["avg_wrap_up_s"] = _ratio(t["wrap_ms"], t["answered"]) / 1000.0
    known = t["logged_in_s"].notna()
    t["occupancy"] = t["session_occupancy"].where(known, _ratio(t["agents_busy_ms"], t["staffed_ms"]))
    t["occupancy_from"] = np.where(known, "sessions", "cdr")
    return t[AGENT_COLUMNS].reset_index(drop=True)


def report_tables(result: StatsResult, site_urls: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """The tables; with the sites' database URLs also ``agent_not_ready``, ``ivr`` and ``ivr_nodes``."""
    totals = period_totals(result)
    time: pd.DataFrame | None = None
    urls: dict[str, str] = {}
    if site_urls and result.first_day is not None and result.last_day is not None:
        urls = {site: url for site, url in site_urls.items() if site in result.sites}
        start, end = day_start(result.first_day), day_start(result.last_day) + DAY_S
        time = read_agent_time(urls, start, end)
    tables = {
        "interval": result.kpis.reset_index(drop=True),
        "queue": totals[totals["queue"] != "(all)"].reset_index(drop=True),
        "site": totals[totals["queue"] == "(all)"].drop(columns=["queue"]).reset_index(drop=True),
        "agent": agent_report(result, time),
    }
    if time is not None:
        tables["agent_not_ready"] = not_ready_table(time)
        ivr, nodes = ivr_report(urls, start, end)
        tables["ivr"] = ivr
        tables["ivr_nodes"] = nodes
    return tables


def write_exports(
    out_dir: Path, result: StatsResult, formats: tuple[str, ...], site_urls: Mapping[str, str] | None = None
) -> list[Path]:
    """``<table>.csv`` per table and/or ``report.xlsx`` (one sheet per table) in ``out_dir``."""
    tables = report_tables(result, site_urls)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "csv" in formats:
        for name, table in tables.items():
            path = out_dir / f"{name}.csv"
            table.to_csv(path, index=False)
            written.append(path)
    if "xlsx" in formats:
        path = out_dir / "report.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as book:
            for name, table in tables.items():
                table.to_excel(book, sheet_name=name, index=False)
        written.append(path)
    return written
