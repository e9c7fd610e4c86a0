"""The central coordinator's configuration: the ``central`` section and :class:`CentralSettings`.

Contributed to the ``callcenter`` tree through the ``callcenter.config`` entry point
``central = "central.config:CentralConfig"``; environment variables are ``CC_CENTRAL__...``
(e.g. ``CC_CENTRAL__SITE_STRATEGY``, ``CC_CENTRAL__TIMERS__WATCH_RETRY_S``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cluster.config import ClusterSettings, HttpConfig, MetricsConfig, Section


class CentralTimersConfig(Section):
    """How long a central replica waits and retries (seconds)."""

    watch_retry_s: float = Field(default=0.5, gt=0)  # site / call watch: sleep after an etcd error
    failover_retry_s: float = Field(default=0.5, gt=0)  # a site's failover that failed is retried after
    overflow_interval_s: float = Field(default=1.0, gt=0)  # how often the leader checks cross-site overflow
    # An agent token that expired at most this long ago may still re-attach (a failover at the
    # end of a token's life); no re-issue ever outlives the login by more than this.
    reattach_grace_s: float = Field(default=120.0, gt=0, le=3600)


class CentralConfig(Section):
    name: str = "central-1"
    http: HttpConfig = Field(default_factory=lambda: HttpConfig(port=8000))
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)  # a port: /metrics only there
    route_capacity_cps: float = Field(default=2000.0, gt=0)
    site_strategy: Literal["least_wait", "home_branch", "most_ready"] = "least_wait"
    dnis_table: str | None = None  # YAML file: dialled number -> service, skill, priority
    overflow_after_s: dict[str, float] = Field(default_factory=dict)  # per skill; cross-site overflow off if absent
    timers: CentralTimersConfig = Field(default_factory=CentralTimersConfig)
    # Browser origins besides the cluster's own sites that may call the API (e.g. a CRM).
    cors_origins: list[str] = Field(default_factory=list)


class CentralSettings(ClusterSettings):
    """What a central replica reads: ``log_level``, ``etcd``, ``tokens`` and ``central``."""

    central: CentralConfig = Field(default_factory=CentralConfig)
