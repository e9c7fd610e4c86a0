"""Errors of the statistics feature::

    CallCenterError
    └── StatsError               stats.*
        ├── SiteUnavailable      stats.site_unavailable  (a site's database cannot be read)
        └── BadStatsInput        stats.bad_input         (bad date range, interval, threshold)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class StatsError(CallCenterError):
    error_id = "stats.error"
    status = 500


class SiteUnavailable(StatsError):
    error_id = "stats.site_unavailable"
    status = 503


class BadStatsInput(StatsError):
    error_id = "stats.bad_input"
    status = 400
