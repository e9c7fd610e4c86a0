"""Outputs of a statistics run: JSON, a self-contained HTML report, and ``stats_aggregates``.

The HTML page has no scripts and loads nothing: styles are inline and charts are SVG drawn
here (:mod:`central.stats.svg`). It shows, per site, offered and answered calls per interval,
the service level against its target, agents required (Erlang C) against agents staffed, a
table per queue over the whole period, and which sites are missing and why.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from central.stats import db
from central.stats.job import StatsResult
from central.stats.kpi import SUM_COLUMNS
from central.stats.rollup import KPI_COLUMNS, TIME_COLUMNS, add_kpis
from central.stats.sources import DAY_S, day_start
from central.stats.staffing import summary
from central.stats.svg import PALETTE, Series, line_chart


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(df.columns)
    return [
        {c: _clean(v) for c, v in zip(cols, row, strict=True)}
        for row in df.itertuples(index=False, name=None)
    ]


def to_json(result: StatsResult, staffing: pd.DataFrame) -> dict[str, Any]:
    """The whole result as plain JSON-ready data (NaN becomes null)."""
    return {
        "params": asdict(result.params),
        "first_day": str(result.first_day) if result.first_day else None,
        "last_day": str(result.last_day) if result.last_day else None,
        "sites": result.sites,
        "missing_sites": result.missing,
        "malformed": result.malformed,
        "rows_read": result.rows,
        "never_joined": result.never_joined,
        "tasks": result.tasks,
        "elapsed_s": round(result.elapsed_s, 3),
        "totals": _records(period_totals(result)),
        "staffing_summary": {k: _clean(v) for k, v in summary(staffing).items()},
        "kpis": _records(result.kpis),
        "staffing": _records(staffing),
    }


def write_json(path: Path, result: StatsResult, staffing: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(result, staffing), indent=1), encoding="utf-8")
    return path


def period_totals(result: StatsResult) -> pd.DataFrame:
    """Queue and site rows summed over the whole period, with their KPIs."""
    k = result.kpis[result.kpis["level"].isin(["queue", "site"])].copy()
    if k.empty:
        return pd.DataFrame(columns=["site", "queue", *SUM_COLUMNS, *KPI_COLUMNS])
    k["queue"] = k["queue"].fillna("(all)")
    tot = k.groupby(["site", "queue"], sort=True, as_index=False)[
        [*SUM_COLUMNS, *TIME_COLUMNS]
    ].sum()
    period_ms = max(len(_full_index(result)), 1) * result.params.interval_s * 1000.0
    tot = add_kpis(tot, result.params)
    tot["agents_staffed"] = tot["staffed_ms"] / period_ms
    return tot[["site", "queue", *SUM_COLUMNS, *KPI_COLUMNS]]


def _full_index(result: StatsResult) -> np.ndarray:
    if result.first_day is None or result.last_day is None:
        return np.array([], dtype=np.int64)
    start = int(day_start(result.first_day))
    stop = int(day_start(result.last_day)) + DAY_S
    return np.arange(start, stop, result.params.interval_s, dtype=np.int64)


def _data_index(result: StatsResult, site: str) -> np.ndarray:
    """The site's intervals from its first to its last with data (the charts' x-axis)."""
    k = result.kpis
    starts = k.loc[(k["level"] == "site") & (k["site"] == site), "interval_start"]
    if starts.empty:
        return np.array([], dtype=np.int64)
    step = result.params.interval_s
    return np.arange(int(starts.min()), int(starts.max()) + step, step, dtype=np.int64)


def _site_charts(result: StatsResult, staffing: pd.DataFrame, site: str) -> str:
    idx = _data_index(result, site)
    k = result.kpis
    s = k[(k["level"] == "site") & (k["site"] == site)].set_index("interval_start").reindex(idx)
    xs = [float(x) for x in idx]
    offered = s["offered"].fillna(0).to_numpy(np.float64)
    answered = s["answered"].fillna(0).to_numpy(np.float64)
    sl = s["service_level"].to_numpy(np.float64)
    need = (
        staffing[staffing["site"] == site]
        .groupby("interval_start")["agents_required_c"]
        .sum()
        .reindex(idx)
        .fillna(0)
        .to_numpy(np.float64)
    )
    staffed = s["agents_staffed"].fillna(0).to_numpy(np.float64)
    target = result.params.sl_target
    return "\n".join(
        [
            line_chart(
                "Calls offered and answered per interval",
                [
                    Series("offered", xs, list(offered), PALETTE[0]),
                    Series("answered", xs, list(answered), PALETTE[1]),
                ],
            ),
            line_chart(
                f"Service level ({result.params.abandon_treatment} abandons, "
                f"{result.params.sl_threshold_s:g} s) vs target {target:.0%}",
                [
                    Series("service level", xs, list(sl), PALETTE[0]),
                    Series("target", xs, [target] * len(xs), PALETTE[2], dashed=True),
                ],
                y_max=1.0,
                y_format="{:.0%}",
            ),
            line_chart(
                "Agents required (Erlang C, sum of queues) vs staffed",
                [
                    Series("required", xs, list(need), PALETTE[3]),
                    Series("staffed", xs, list(staffed), PALETTE[1]),
                ],
            ),
        ]
    )


def _fmt(value: Any, kind: str) -> str:
    v = _clean(value)
    if v is None:
        return "-"
    if kind == "pct":
        return f"{v:.1%}"
    if kind == "s":
        return f"{v:.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


_TABLE = [
    ("queue", "Queue", ""),
    ("offered", "Offered", ""),
    ("answered", "Answered", ""),
    ("abandoned", "Abandoned", ""),
    ("short_abandoned", "Short aband.", ""),
    ("service_level", "SL", "pct"),
    ("asa_s", "ASA s", "s"),
    ("aht_s", "AHT s", "s"),
    ("occupancy", "Occupancy", "pct"),
    ("transfers", "Transfers", ""),
    ("failovers", "Failovers", ""),
    ("callbacks", "Callbacks", ""),
]


def _table(rows: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for _, title, _ in _TABLE)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(r[c], kind))}</td>" for c, _, kind in _TABLE) + "</tr>"
        for _, r in rows.iterrows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_STYLE = (
    "body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;"
    "margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f0f0f0}td:first-child{text-align:left}.missing{color:#b00020}"
    "section{margin-bottom:32px}"
)


def render_html(result: StatsResult, staffing: pd.DataFrame) -> str:
    """The report page (self-contained)."""
    p = result.params
    totals = period_totals(result)
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Contact-center statistics {result.first_day} .. {result.last_day}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Contact-center statistics {result.first_day} .. {result.last_day}</h1>",
        f"<p>Interval {p.interval_s // 60} min (UTC); service level: answered within "
        f"{p.sl_threshold_s:g} s, abandons treated as <b>{escape(p.abandon_treatment)}</b>, "
        f"target {p.sl_target:.0%}; abandons within {p.short_abandon_s:g} s are short.</p>",
    ]
    if result.missing:
        items = "".join(
            f"<li><b>{escape(site)}</b>: {escape(reason)}</li>"
            for site, reason in result.missing.items()
        )
        out.append(
            f"<h2 class='missing'>Missing sites ({len(result.missing)})</h2>"
            f"<p>Not included in any figure below:</p><ul class='missing'>{items}</ul>"
        )
    else:
        out.append("<p>All sites were read.</p>")
    if result.malformed:
        items = "".join(
            f"<li>{escape(site)}: "
            + ", ".join(f"{escape(r)} {n}" for r, n in reasons.items())
            + "</li>"
            for site, reasons in result.malformed.items()
        )
        out.append(f"<h2>Malformed records (skipped)</h2><ul>{items}</ul>")
    for site in result.sites:
        rows = totals[totals["site"] == site]
        out.append(
            f"<section><h2>Site {escape(site)}</h2>"
            f"<p>{result.rows.get(site, 0):,} records read"
            f"{_never_joined(result.never_joined.get(site, 0))}.</p>"
            f"{_table(rows)}{_site_charts(result, staffing, site)}</section>"
        )
    out.append("</body></html>")
    return "\n".join(out)


def write_report(out_dir: Path, result: StatsResult, staffing: pd.DataFrame) -> dict[str, Path]:
    """Write ``stats.json`` and ``report.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(result, staffing), encoding="utf-8")
    return {"json": write_json(out_dir / "stats.json", result, staffing), "html": html_path}


def aggregate_rows(result: StatsResult, computed_at: float) -> list[dict[str, Any]]:
    """Rows for ``stats_aggregates``, every level (``None`` queue or agent means "all")."""
    k = result.kpis
    skip = {"level", "interval_start", "site", "queue", "agent_id"}
    kpi_cols = [c for c in k.columns if c not in skip]
    rows = []
    for rec in _records(k):
        rows.append(
            {
                "interval_start": float(rec["interval_start"]),
                "interval_s": result.params.interval_s,
                "site": rec["site"],
                "queue": rec["queue"],
                "agent_id": rec["agent_id"],
                "kpis": {c: rec[c] for c in kpi_cols},
                "computed_at": computed_at,
            }
        )
    return rows


def store_aggregates(url: str, result: StatsResult, computed_at: float) -> int:
    """Replace this run's intervals of its sites in ``stats_aggregates`` at ``url``."""
    if result.first_day is None or result.last_day is None:
        return 0
    start_s = day_start(result.first_day)
    end_s = day_start(result.last_day) + DAY_S
    if not result.kpis.empty:  # agents' busy time may spill past the last midnight
        start_s = min(start_s, float(result.kpis["interval_start"].min()))
        end_s = max(end_s, float(result.kpis["interval_start"].max()) + result.params.interval_s)
    return db.write_aggregates(
        url,
        aggregate_rows(result, computed_at),
        interval_s=result.params.interval_s,
        sites=result.sites,
        start_s=start_s,
        end_s=end_s,
    )


def _never_joined(n: int) -> str:
    return f"; {n:,} routed but never joined (left out of every figure)" if n else ""
