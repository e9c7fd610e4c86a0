"""Where a site's call detail records come from: its database, or a cache of day partitions.

A source is a small picklable object with ``probe()`` and ``load(start_s, end_s)``; a Ray task
receives it and reads the data on the node it runs on. Both sources feed the same
partial-aggregate code (:func:`central.stats.kpi.compute_partial`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from central.stats.errors import SiteUnavailable
from central.stats.kpi import READ_COLUMNS

DAY_S = 86_400
_CATEGORICAL = ("queue", "agent_id", "end_reason")


@dataclass(frozen=True, slots=True)
class SiteProbe:
    """What a first look at a site's data found."""

    first_arrival: float | None
    last_arrival: float | None
    null_arrival: int


class CallSource(Protocol):
    def describe(self) -> str: ...

    def probe(self) -> SiteProbe: ...

    def load(self, start_s: float, end_s: float) -> pd.DataFrame: ...


@dataclass(frozen=True, slots=True)
class DatabaseSource:
    """A site's ``calls`` table at a SQLAlchemy URL (SQLite file or PostgreSQL)."""

    url: str

    # SQLAlchemy is imported where a database is read: a worker reading caches never loads it.
    def describe(self) -> str:
        from central.stats import db

        return db.redact(self.url)

    def probe(self) -> SiteProbe:
        from central.stats import db

        return SiteProbe(*db.probe_calls(self.url))

    def load(self, start_s: float, end_s: float) -> pd.DataFrame:
        from central.stats import db

        return db.read_calls(self.url, start_s, end_s)


def day_of(epoch_s: float) -> dt.date:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).date()


def day_start(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


@dataclass(frozen=True, slots=True)
class PartitionCacheSource:
    """Day partitions exported to ``directory/<YYYY-MM-DD>.npz`` (see :func:`save_partition`).

    Used by the benchmark to read 10 M records fast and identically in every run; string
    columns are stored as codes plus their values.
    """

    directory: str

    def describe(self) -> str:
        return f"cache {self.directory}"

    def _files(self) -> list[Path]:
        path = Path(self.directory)
        if not path.is_dir():
            raise SiteUnavailable(f"no partition cache at {path}", path=str(path))
        return sorted(path.glob("*.npz"))

    def probe(self) -> SiteProbe:
        days = [dt.date.fromisoformat(f.stem) for f in self._files()]
        if not days:
            return SiteProbe(None, None, 0)
        return SiteProbe(day_start(min(days)), day_start(max(days)) + DAY_S - 1, 0)

    def load(self, start_s: float, end_s: float) -> pd.DataFrame:
        frames = []
        day = day_of(start_s)
        while day_start(day) < end_s:
            path = Path(self.directory) / f"{day.isoformat()}.npz"
            if path.exists():
                frames.append(_load_npz(path))
            day += dt.timedelta(days=1)
        if not frames:
            return pd.DataFrame({c: [] for c in READ_COLUMNS})
        df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        arrival = df["arrival_at"].to_numpy()
        keep = (arrival >= start_s) & (arrival < end_s)
        return df if keep.all() else df.loc[keep].reset_index(drop=True)


def _load_npz(path: Path) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as data:
        cols: dict[str, object] = {}
        for name in READ_COLUMNS:
            if name in _CATEGORICAL:
                codes = data[f"{name}__codes"]
                values = data[f"{name}__values"].astype(object)
                cols[name] = pd.Categorical.from_codes(codes, categories=values)
            else:
                cols[name] = data[name]
    return pd.DataFrame(cols)


def save_partition(directory: Path, day: dt.date, df: pd.DataFrame) -> Path:
    """Write one site-day of CDR rows (``READ_COLUMNS``) for :class:`PartitionCacheSource`."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name in READ_COLUMNS:
        col = df[name]
        if name in _CATEGORICAL:
            codes, values = pd.factorize(col.astype(object), use_na_sentinel=True)
            arrays[f"{name}__codes"] = codes.astype(np.int32)
            arrays[f"{name}__values"] = np.asarray(values, dtype=str)
        elif name == "call_id":
            arrays[name] = np.arange(len(df), dtype=np.int64)
        else:
            arrays[name] = col.to_numpy()
    path = directory / f"{day.isoformat()}.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path
