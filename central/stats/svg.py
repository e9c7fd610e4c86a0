"""Small inline SVG line charts (no JavaScript, no external files)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    xs: Sequence[float]  # epoch seconds
    ys: Sequence[float]  # NaN leaves a gap
    color: str = PALETTE[0]
    dashed: bool = False


def _nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _time_label(epoch: float, span: float) -> str:
    t = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return t.strftime("%m-%d") if span > 2 * 86_400 else t.strftime("%m-%d %H:%M")


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    y_max: float | None = None,
    y_format: str = "{:g}",
    width: int = 900,
    height: int = 240,
) -> str:
    """An SVG line chart of ``series`` against time, with a legend and axis ticks."""
    left, right, top, bottom = 56, 12, 28, 36
    pw, ph = width - left - right, height - top - bottom
    xs_all = [x for s in series for x in s.xs]
    ys_all = [y for s in series for y in s.ys if math.isfinite(y)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    if not xs_all:
        parts.append(f'<text x="{left}" y="{top + ph / 2}" font-size="12">no data</text></svg>')
        return "".join(parts)
    x0, x1 = min(xs_all), max(xs_all)
    span = max(x1 - x0, 1.0)
    top_y = y_max if y_max is not None else _nice_max(max(ys_all, default=1.0))

    def px(x: float) -> float:
        return left + (x - x0) / span * pw

    def py(y: float) -> float:
        return top + ph - min(max(y, 0.0), top_y) / top_y * ph

    parts.append(
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>'
    )
    for i in range(5):
        val = top_y * i / 4
        y = py(val)
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{escape(y_format.format(val))}</text>"
        )
    for i in range(6):
        x = x0 + span * i / 5
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + ph + 14}" font-size="10" text-anchor="{anchor}">'
            f"{escape(_time_label(x, span))}</text>"
        )
    for idx, s in enumerate(series):
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        for run in _runs(s.xs, s.ys):
            if len(run) == 1:  # a lone interval: a point, since a one-point polyline draws nothing
                (x, y), = run
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{s.color}"/>')
                continue
            pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
            parts.append(
                f'<polyline fill="none" stroke="{s.color}" stroke-width="1.4"{dash} '
                f'points="{pts}"/>'
            )
        lx = left + 8 + idx * 190
        parts.append(
            f'<line x1="{lx}" x2="{lx + 18}" y1="{height - 8}" y2="{height - 8}" '
            f'stroke="{s.color}" stroke-width="2"{dash}/>'
            f'<text x="{lx + 22}" y="{height - 4}" font-size="11">{escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _runs(xs: Sequence[float], ys: Sequence[float]) -> list[list[tuple[float, float]]]:
    """Consecutive finite points; a NaN starts a new polyline."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if math.isfinite(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]
