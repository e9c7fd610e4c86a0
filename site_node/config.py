"""The site node's configuration: the ``site`` section and :class:`SiteSettings`.

Contributed to the ``callcenter`` tree through the ``callcenter.config`` entry point
``site = "site_node.config:SiteConfig"``; environment variables are ``CC_SITE__...``
(e.g. ``CC_SITE__ACD__RING_TIMEOUT_S``, ``CC_SITE__TIMERS__GONE_GRACE_S``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cluster.config import ClusterSettings, HttpConfig, MetricsConfig, Section, required_secret
from cluster.lockouts import LockoutPolicy


class MediaConfig(Section):
    host_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    stun_servers: list[str] = Field(default_factory=list)
    turn_servers: list[str] = Field(default_factory=list)
    turn_username: str | None = None
    turn_password: str | None = None
    codecs: list[Literal["opus", "PCMU", "PCMA"]] = Field(default_factory=lambda: ["opus", "PCMU"])  # type: ignore[arg-type]
    recordings_dir: str = "recordings"
    prompts_dir: str = "prompts"  # recorded prompts a flow names (``audio:``), under site.data_dir
    # Recordings are deleted this many days after they start (per queue, else the default) unless
    # on legal hold; the sweep runs every retention_sweep_s (site_node.recordings.retention).
    retention_days: float = Field(default=365.0, gt=0)
    retention_days_per_queue: dict[str, float] = Field(default_factory=dict)
    retention_sweep_s: float = Field(default=3600.0, gt=0)
    rtcp_interval_s: float = Field(default=5.0, ge=1.0, le=10.0)  # mean RTCP report interval (browsers: 5 s)
    # RTP legs (calls from the SIP edge) bind an even port in [rtp_port_min, rtp_port_max]; 0: any
    rtp_port_min: int = Field(default=0, ge=0, le=65535)
    rtp_port_max: int = Field(default=0, ge=0, le=65535)

    @model_validator(mode="after")
    def _rtp_ports(self) -> MediaConfig:
        if self.rtp_port_min and self.rtp_port_max < self.rtp_port_min + 1:
            raise ValueError("rtp_port_max must be above rtp_port_min (or both 0)")
        return self


class AcdConfig(Section):
    ring_timeout_s: float = Field(default=15.0, gt=0)
    wrap_up_s: float = Field(default=30.0, ge=0)
    auto_end_wrap_up: bool = True


class TimersConfig(Section):
    """How long a site waits and retries (seconds)."""

    gone_grace_s: float = Field(default=5.0, gt=0)  # a caller's/agent's socket lost -> give up on them after
    reattach_wait_s: float = Field(default=15.0, gt=0)  # a call moved by failover waits this for its agent
    consult_ring_s: float = Field(default=30.0, gt=0)  # a consultation rings the consulted agent this long
    record_retry_for_s: float = Field(default=30.0, gt=0)  # keep retrying a record write while etcd is down
    record_retry_sleep_s: float = Field(default=0.2, gt=0)  # between those retries
    watch_retry_s: float = Field(default=0.5, gt=0)  # call watch / flow sync: sleep after an etcd error
    transfer_wait_s: float = Field(default=10.0, gt=0)  # an IVR transfer to a site: central moves it by then


class IvrConfig(Section):
    # An IVR transfer to an outside number needs the SIP trunk; until one is configured the
    # caller goes to this queue, and the agent sees the number asked for and why.
    external_transfer_queue: str = "retail"


class LockoutsConfig(Section):
    """Lockouts after repeated failures, counted cluster-wide (etcd): a customer's PIN (any call,
    any site), an agent's login, and logins from one client address."""

    pin: LockoutPolicy = Field(default_factory=lambda: LockoutPolicy(max_failures=3, window_s=3600, lock_s=1800))
    login: LockoutPolicy = Field(default_factory=lambda: LockoutPolicy(max_failures=5, window_s=900, lock_s=900))
    login_address: LockoutPolicy = Field(
        default_factory=lambda: LockoutPolicy(max_failures=20, window_s=900, lock_s=900)
    )


class SiteConfig(Section):
    name: str = "site-1"
    http: HttpConfig = Field(default_factory=lambda: HttpConfig(port=8100))
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)  # a port: /metrics only there
    advertise_url: str | None = None  # what central hands to clients; derived from http if unset
    database_url: str | None = None  # default: sqlite file per site under data_dir
    # PostgreSQL: the role the site connects as when another role owns and migrates the schema;
    # migrating leaves it only INSERT and SELECT on the audit table (docs/architecture.md)
    database_app_role: str | None = None
    # Bring the database to this build's schema at start-up (the demo's default). In production
    # set it false and run `callcenter migrate --target site` as a release step; a site then
    # refuses to start on a schema it does not match (storage.schema_not_current).
    migrate_on_start: bool = True
    data_dir: str = "data"
    backup_sites: list[str] = Field(default_factory=list)
    load_publish_interval_s: float = Field(default=1.0, ge=0.2)
    join_timeout_s: float = Field(default=30.0, gt=0)  # a routed caller who never joins is closed
    media: MediaConfig = Field(default_factory=MediaConfig)
    acd: AcdConfig = Field(default_factory=AcdConfig)
    timers: TimersConfig = Field(default_factory=TimersConfig)
    ivr: IvrConfig = Field(default_factory=IvrConfig)
    lockouts: LockoutsConfig = Field(default_factory=LockoutsConfig)
    announce_taps: bool = False  # tell an agent when a supervisor listens, whispers or barges in
    # The key of the accounts' keyed hash (HMAC-SHA256): required, no default (the demo makes
    # one per run). Only hashes are stored, so rotating it means re-loading the accounts from
    # the bank's system of record with the new key (the seed does so for the demo).
    account_hash_key: str | None = Field(default=None, min_length=32)
    # The key recordings and voicemail are sealed with at rest (AES-256-GCM, site_node.recordings.sealed):
    # required, no default (the demo makes one per run). To rotate, set the new key and move the
    # old one to previous_recording_keys; files sealed with it stay playable while it is listed.
    recording_key: str | None = Field(default=None, min_length=32)
    previous_recording_keys: list[str] = Field(default_factory=list)

    @field_validator("backup_sites", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class SiteSettings(ClusterSettings):
    """What a site node reads: ``log_level``, ``etcd``, ``tokens`` and ``site``."""

    site: SiteConfig = Field(default_factory=SiteConfig)


def require_account_key(site: SiteConfig) -> bytes:
    """The account-hash key (the one the site's accounts were hashed with)."""
    key = required_secret(site.account_hash_key, "site.account_hash_key", "give the site the key of its accounts")
    return key.encode()

