"""KPI rows as compact columns: what a per-site task returns and the driver concatenates.

A :class:`KpiColumns` holds numbers as numpy arrays (one 2-D ``int64`` block of sums and times,
one 2-D ``float64`` block of ratios) and text as integer codes into small sorted vocabularies
(``-1`` = None). Pickled with protocol 5 its buffers travel out of band, so a Ray driver maps a
site's half a million rows without copying or decoding them; the strings are built once, when
:meth:`KpiColumns.to_frame` turns the concatenation of all sites into the KPI ``DataFrame``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from central.stats.kpi import SUM_COLUMNS

LEVELS = ("agent_queue", "agent", "queue", "site")
TIME_COLUMNS = ["busy_ms", "agents_busy_ms", "staffed_ms"]
VALUE_COLUMNS = [*SUM_COLUMNS, *TIME_COLUMNS]
KPI_COLUMNS = [
    "service_level",
    "sl_ignore",
    "sl_negative",
    "sl_positive",
    "asa_s",
    "aht_s",
    "avg_failover_gap_s",
    "abandon_rate",
    "avg_abandon_wait_s",
    "occupancy",
    "agents_staffed",
]
KEY_COLUMNS = ["level", "interval_start", "site", "queue", "agent_id"]
OUTPUT_COLUMNS = [*KEY_COLUMNS, *VALUE_COLUMNS, *KPI_COLUMNS]
_INT32_MAX = int(np.iinfo(np.int32).max)


@dataclass(slots=True)
class KpiColumns:
    """KPI rows in output order; ``values`` is ``(len(VALUE_COLUMNS), n)`` (``int64``, or
    ``int32`` after :meth:`compact`), ``kpis`` is ``(len(KPI_COLUMNS), n)`` ``float64``."""

    level: np.ndarray  # int8 index into LEVELS
    interval_start: np.ndarray  # int64 epoch seconds
    site: np.ndarray  # int32 codes into ``sites``
    queue: np.ndarray  # int32 codes into ``queues``, -1 = None
    agent: np.ndarray  # int32 codes into ``agents``, -1 = None
    sites: list[str]
    queues: list[str]
    agents: list[str]
    values: np.ndarray
    kpis: np.ndarray

    def __len__(self) -> int:
        return len(self.level)

    @classmethod
    def empty(cls) -> KpiColumns:
        none = np.zeros(0, dtype=np.int32)
        return cls(
            np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int64), none, none, none,
            [], [], [],
            np.zeros((len(VALUE_COLUMNS), 0), dtype=np.int64),
            np.zeros((len(KPI_COLUMNS), 0), dtype=np.float64),
        )

    def compact(self) -> KpiColumns:
        """The same rows with the sums as ``int32`` when they all fit (a third less to ship);
        :meth:`concat` widens them back to ``int64``."""
        v = self.values
        if v.size and np.iinfo(np.int32).min <= int(v.min()) and int(v.max()) <= _INT32_MAX:
            v = v.astype(np.int32)
        return KpiColumns(self.level, self.interval_start, self.site, self.queue, self.agent,
                          self.sites, self.queues, self.agents, v, self.kpis)

    @classmethod
    def concat(cls, parts: Sequence[KpiColumns]) -> KpiColumns:
        """Rows of ``parts`` one after the other, codes translated into joint vocabularies.

        The result owns its arrays (one copy of each part: a part received from Ray is a
        read-only view of the object store), laid out as the ``DataFrame`` blocks will be.
        """
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        sites, site = _join_codes([p.sites for p in parts], [p.site for p in parts])
        queues, queue = _join_codes([p.queues for p in parts], [p.queue for p in parts])
        agents, agent = _join_codes([p.agents for p in parts], [p.agent for p in parts])
        n = sum(len(p) for p in parts)
        values = np.empty((len(VALUE_COLUMNS), n), dtype=np.int64)
        kpis = np.empty((len(KPI_COLUMNS), n), dtype=np.float64)
        offset = 0
        for p in parts:
            values[:, offset : offset + len(p)] = p.values
            kpis[:, offset : offset + len(p)] = p.kpis
            offset += len(p)
        return cls(
            np.concatenate([p.level for p in parts]),
            np.concatenate([p.interval_start for p in parts]),
            site, queue, agent, sites, queues, agents, values, kpis,
        )

    def to_frame(self) -> pd.DataFrame:
        """The KPI table (columns :data:`OUTPUT_COLUMNS`); the number blocks are not copied."""
        if not len(self):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})
        keys = pd.DataFrame(
            {
                "level": pd.array(_decode(list(LEVELS), self.level), dtype="str"),
                "interval_start": self.interval_start,
                "site": pd.array(_decode(self.sites, self.site), dtype="str"),
                "queue": pd.Series(_decode(self.queues, self.queue), dtype=object, copy=False),
                "agent_id": pd.Series(_decode(self.agents, self.agent), dtype=object, copy=False),
            },
            copy=False,
        )
        values = pd.DataFrame(self.values.T, columns=VALUE_COLUMNS, copy=False)
        kpis = pd.DataFrame(self.kpis.T, columns=KPI_COLUMNS, copy=False)
        return pd.concat([keys, values, kpis], axis=1)


def _decode(vocab: list[str], codes: np.ndarray) -> np.ndarray:
    """Strings of ``codes`` as an object array (``-1`` -> None)."""
    table = np.empty(len(vocab) + 1, dtype=object)
    table[: len(vocab)] = vocab
    table[-1] = None
    return table[codes]


def _join_codes(
    vocabs: list[list[str]], codes: list[np.ndarray]
) -> tuple[list[str], np.ndarray]:
    joint = sorted(set().union(*vocabs))
    index = np.asarray(joint, dtype=object)
    if all(v == joint for v in vocabs):
        return joint, np.concatenate(codes)
    out = []
    for vocab, c in zip(vocabs, codes, strict=True):
        remap = np.empty(len(vocab) + 1, dtype=np.int32)
        remap[: len(vocab)] = np.searchsorted(index, np.asarray(vocab, dtype=object))
        remap[-1] = -1
        out.append(remap[c])
    return joint, np.concatenate(out)
