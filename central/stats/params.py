"""Parameters of a statistics run (validated once, passed to every task)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from central.stats.errors import BadStatsInput

AbandonTreatment = Literal["ignore", "negative", "positive"]
ABANDON_TREATMENTS: tuple[AbandonTreatment, ...] = ("ignore", "negative", "positive")
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class KpiParams:
    """What to compute.

    - ``interval_s``: reporting interval (900 or 1800 in the CLI; any divisor of a day here).
      Intervals are aligned on UTC epoch multiples; a call belongs to its arrival's interval.
    - ``sl_threshold_s``: service-level threshold ``t`` (answered within ``t`` seconds).
    - ``short_abandon_s``: queue abandons after at most this many seconds are "short" and
      excluded from ``abandoned`` (counted apart as ``short_abandoned``).
    - ``abandon_treatment``: which service-level formula is ``service_level`` (see kpi.py).
    - ``sl_target``: the target service level, for staffing and the report.
    - ``session_gap_s``: an agent idle longer than this between two calls is taken as logged
      out (staffed time is approximated from activity, see rollup.py).
    """

    interval_s: int = 900
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    abandon_treatment: AbandonTreatment = "negative"
    sl_target: float = 0.8
    session_gap_s: float = 900.0

    def __post_init__(self) -> None:
        if self.interval_s < 60 or DAY_S % self.interval_s:
            raise BadStatsInput(
                f"interval_s must divide a day and be >= 60 s, got {self.interval_s}",
                key="interval_s",
            )
        if self.sl_threshold_s < 0:
            raise BadStatsInput("sl_threshold_s must be >= 0", key="sl_threshold_s")
        if self.short_abandon_s < 0:
            raise BadStatsInput("short_abandon_s must be >= 0", key="short_abandon_s")
        if self.abandon_treatment not in ABANDON_TREATMENTS:
            raise BadStatsInput(
                f"abandon_treatment must be one of {ABANDON_TREATMENTS}, "
                f"got {self.abandon_treatment!r}",
                key="abandon_treatment",
            )
        if not 0 < self.sl_target < 1:
            raise BadStatsInput("sl_target must be in (0, 1)", key="sl_target")
        if self.session_gap_s < 0:
            raise BadStatsInput("session_gap_s must be >= 0", key="session_gap_s")
