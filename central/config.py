"""The central coordinator's configuration: the ``central`` section and :class:`CentralSettings`.

Contributed to the ``callcenter`` tree through the ``callcenter.config`` entry point
``central = "central.config:CentralConfig"``; environment variables are ``CC_CENTRAL__...``
(e.g. ``CC_CENTRAL__SITE_STRATEGY``, ``CC_CENTRAL__TIMERS__WATCH_RETRY_S``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from central.business.config import BusinessConfig
from central.resources.config import ResourcesConfig
from central.workorders.config import WorkOrdersConfig
from cluster.config import ClusterSettings, HttpConfig, MetricsConfig, Section


class CentralTimersConfig(Section):
    """How long a central replica waits and retries (seconds)."""

    watch_retry_s: float = Field(default=0.5, gt=0)  # site / call watch: sleep after an etcd error
    failover_retry_s: float = Field(default=0.5, gt=0)  # a site's failover that failed is retried after
    overflow_interval_s: float = Field(default=1.0, gt=0)  # how often the leader checks cross-site overflow
    # An agent token that expired at most this long ago may still re-attach (a failover at the
    # end of a token's life); no re-issue ever outlives the login by more than this.
    reattach_grace_s: float = Field(default=120.0, gt=0, le=3600)


class FailoverConfig(Section):
    """Confirming a site's death before its lease expires (``central.failure``). A client that
    lost its site reports it (its reconnect or re-attach); central probes the site's advertised
    address; only refused connections (nothing listens: the process is gone) end its membership
    early. A site that times out or cannot be reached is judged by its lease, as always."""

    probe: bool = True  # off: every failover waits for the lease (the lease-only path)
    probe_timeout_s: float = Field(default=0.25, gt=0, le=5)  # a probe with no answer by then: unresponsive
    probe_refusals: int = Field(default=2, ge=1, le=10)  # refused connections in a row that confirm a death
    probe_retry_s: float = Field(default=0.02, ge=0, le=5)  # between the probes of one round
    # probes in one round at most: a connection reset unanswered (a process being torn down) is
    # probed again, up to this; a round without proof leaves the site to its lease
    probe_max_attempts: int = Field(default=6, ge=1, le=20)
    probe_cooldown_s: float = Field(default=1.0, ge=0, le=60)  # after a verdict, no new round for this long
    # a reconnect / re-attach waits this long for the site to prove alive or the call to move,
    # then answers 503 call.moving (agent.moving) with retry_after_s
    rejoin_wait_s: float = Field(default=3.0, ge=0, le=30)


class RouteLimitsConfig(Section):
    """Per-client limits on ``POST /v1/calls`` (``429 route.rate_limited``), besides the global
    ``route_capacity_cps``. A bank's defaults: a person's browser or app routes a call now and
    then, a retry or two at most; a flood from one machine or of one number is cut short."""

    per_address_cps: float = Field(default=2.0, gt=0)  # sustained route requests per client address
    per_address_burst: float = Field(default=10.0, ge=1)
    per_caller_cps: float = Field(default=0.2, gt=0)  # one call every 5 s per caller number, sustained
    per_caller_burst: float = Field(default=5.0, ge=1)
    tracked_keys: int = Field(default=100_000, ge=1)  # addresses / numbers remembered (LRU): bounded memory
    # Addresses exempt from both per-client limits (the bank's own front-ends that route for many
    # customers; a local test cluster's 127.0.0.1). The global capacity still applies to them.
    exempt_addresses: list[str] = Field(default_factory=list)


class CentralConfig(Section):
    name: str = "central-1"
    http: HttpConfig = Field(default_factory=lambda: HttpConfig(port=8000))
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)  # a port: /metrics only there
    route_capacity_cps: float = Field(default=2000.0, gt=0)
    route_limits: RouteLimitsConfig = Field(default_factory=RouteLimitsConfig)
    site_strategy: Literal["least_wait", "home_branch", "most_ready"] = "least_wait"
    dnis_table: str | None = None  # YAML file: dialled number -> service, skill, priority
    overflow_after_s: dict[str, float] = Field(default_factory=dict)  # per skill; cross-site overflow off if absent
    timers: CentralTimersConfig = Field(default_factory=CentralTimersConfig)
    failover: FailoverConfig = Field(default_factory=FailoverConfig)
    # Browser origins besides the cluster's own sites that may call the API (e.g. a CRM).
    cors_origins: list[str] = Field(default_factory=list)
    # Work orders and customer notifications (central/workorders, central/notify)
    workorders: WorkOrdersConfig = Field(default_factory=WorkOrdersConfig)


class CentralSettings(ClusterSettings):
    """What a central replica reads: ``log_level``, ``etcd``, ``tokens`` and ``central``."""

    central: CentralConfig = Field(default_factory=CentralConfig)
    business: BusinessConfig = Field(default_factory=BusinessConfig)  # the business database (customers, ...)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)  # the resource engine (back offices)
