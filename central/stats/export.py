"""Report tables of a statistics run as CSV files and one XLSX workbook.

Tables: ``interval`` (every KPI row: level, interval, site, queue, agent), ``queue`` and
``site`` (period totals), ``ivr`` (:mod:`central.stats.ivr`), ``agent`` (the agent report:
handled, AHT, average hold and wrap-up, occupancy over the period). Not-ready time by reason is not in the CDR,
so it is not here (the live figures are in Prometheus).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from central.stats.ivr import ivr_report
from central.stats.job import StatsResult
from central.stats.report import period_totals
from central.stats.sources import DAY_S, day_start

FORMATS = ("csv", "xlsx")
AGENT_COLUMNS = ["site", "agent_id", "handled", "aht_s", "avg_hold_s", "avg_wrap_up_s", "occupancy"]


def _ratio(n: pd.Series, d: pd.Series) -> pd.Series:
    return (n / d.where(d > 0, np.nan)).astype("float64")


def agent_report(result: StatsResult) -> pd.DataFrame:
    """One row per agent over the whole period."""
    k = result.kpis[result.kpis["level"] == "agent"]
    if k.empty:
        return pd.DataFrame(columns=AGENT_COLUMNS)
    cols = ["answered", "talk_ms", "hold_ms", "wrap_ms", "agents_busy_ms", "staffed_ms"]
    t = k.groupby(["site", "agent_id"], sort=True, as_index=False)[cols].sum()
    t["handled"] = t["answered"]
    t["aht_s"] = _ratio(t["talk_ms"] + t["hold_ms"] + t["wrap_ms"], t["answered"]) / 1000.0
    t["avg_hold_s"] = _ratio(t["hold_ms"], t["answered"]) / 1000.0
    t["avg_wrap_up_s"] = _ratio(t["wrap_ms"], t["answered"]) / 1000.0
    t["occupancy"] = _ratio(t["agents_busy_ms"], t["staffed_ms"])
    return t[AGENT_COLUMNS].reset_index(drop=True)


def report_tables(result: StatsResult, site_urls: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """The tables; with the sites' database URLs also ``ivr`` (:mod:`central.stats.ivr`)."""
    totals = period_totals(result)
    tables = {
        "interval": result.kpis.reset_index(drop=True),
        "queue": totals[totals["queue"] != "(all)"].reset_index(drop=True),
        "site": totals[totals["queue"] == "(all)"].drop(columns=["queue"]).reset_index(drop=True),
        "agent": agent_report(result),
    }
    if site_urls and result.first_day is not None and result.last_day is not None:
        urls = {site: url for site, url in site_urls.items() if site in result.sites}
        tables["ivr"] = ivr_report(urls, day_start(result.first_day), day_start(result.last_day) + DAY_S)
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
