"""Typed configuration: defaults, then a YAML file, then environment variables.

Environment variables are named ``CC_<SECTION>__<KEY>`` (e.g. ``CC_ETCD__ENDPOINTS``,
``CC_SITE__NAME``). An unknown key or a bad value anywhere is rejected at start-up with a
:class:`~cluster.errors.ConfigError` naming the key (``site.port``, not a traceback).
Each feature owns one section; the whole tree is :class:`Settings`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cluster.errors import ConfigError

ENV_PREFIX = "CC_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EtcdConfig(_Section):
    endpoints: list[str] = Field(default_factory=lambda: ["127.0.0.1:2379"])
    prefix: str = "/cc"
    lease_ttl_s: int = Field(default=2, ge=1, le=60)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    retry_max_backoff_s: float = Field(default=5.0, gt=0)
    # TLS to etcd (production): the CA that signed the servers' certificates; with a client
    # certificate and key for etcd's --client-cert-auth (mutual TLS). PEM files.
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None  # the name in the servers' certificates, if not the endpoint host

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _tls_complete(self) -> EtcdConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (mutual TLS)")
        if self.cert_file is not None and self.ca_file is None:
            raise ValueError("a client certificate needs ca_file (TLS)")
        return self

    @field_validator("endpoints", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("endpoints")
    @classmethod
    def _check_endpoints(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one endpoint is needed")
        for endpoint in value:
            host, _, port = endpoint.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{endpoint!r} is not host:port")
        return value


class HttpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)


class TokenConfig(_Section):
    secret: str = Field(default="dev-only-secret-change-me-in-production-0123456789", min_length=32)
    call_ttl_s: float = Field(default=300.0, gt=0)
    agent_ttl_s: float = Field(default=12 * 3600.0, gt=0)


class CentralConfig(_Section):
    name: str = "central-1"
    http: HttpConfig = Field(default_factory=lambda: HttpConfig(port=8000))
    route_capacity_cps: float = Field(default=2000.0, gt=0)
    site_strategy: Literal["least_wait", "home_branch", "most_ready"] = "least_wait"
    dnis_table: str | None = None  # YAML file: dialled number -> service, skill, priority
    overflow_after_s: dict[str, float] = Field(default_factory=dict)  # per skill; cross-site overflow off if absent


class MediaConfig(_Section):
    host_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    stun_servers: list[str] = Field(default_factory=list)
    turn_servers: list[str] = Field(default_factory=list)
    turn_username: str | None = None
    turn_password: str | None = None
    codecs: list[Literal["opus", "PCMU", "PCMA"]] = Field(default_factory=lambda: ["opus", "PCMU"])  # type: ignore[arg-type]
    recordings_dir: str = "recordings"


class AcdConfig(_Section):
    ring_timeout_s: float = Field(default=15.0, gt=0)
    wrap_up_s: float = Field(default=30.0, ge=0)
    auto_end_wrap_up: bool = True


class SiteConfig(_Section):
    name: str = "site-1"
    http: HttpConfig = Field(default_factory=lambda: HttpConfig(port=8100))
    advertise_url: str | None = None  # what central hands to clients; derived from http if unset
    database_url: str | None = None  # default: sqlite file per site under data_dir
    data_dir: str = "data"
    backup_sites: list[str] = Field(default_factory=list)
    load_publish_interval_s: float = Field(default=1.0, ge=0.2)
    join_timeout_s: float = Field(default=30.0, gt=0)  # a routed caller who never joins is closed
    media: MediaConfig = Field(default_factory=MediaConfig)
    acd: AcdConfig = Field(default_factory=AcdConfig)

    @field_validator("backup_sites", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class Settings(_Section):
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    etcd: EtcdConfig = Field(default_factory=EtcdConfig)
    tokens: TokenConfig = Field(default_factory=TokenConfig)
    central: CentralConfig = Field(default_factory=CentralConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)


def _deep_set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a section", error_id="config.unknown_key")
        node = child
    node[path[-1]] = value


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        value: Any = raw
        if raw[:1] in "[{":
            value = yaml.safe_load(raw)
        _deep_set(tree, path, value)
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(
    path: str | Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build :class:`Settings` from defaults < file < environment < explicit overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} not found", error_id="config.file_missing") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}", error_id="config.file_invalid") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must be a mapping", error_id="config.file_invalid")
        data = loaded or {}
    data = _merge(data, _env_overrides(dict(os.environ if environ is None else environ)))
    if overrides:
        data = _merge(data, overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        kind = "config.unknown_key" if first["type"] == "extra_forbidden" else "config.bad_value"
        problem = "unknown key" if kind == "config.unknown_key" else first["msg"]
        raise ConfigError(f"configuration key {key!r}: {problem}", error_id=kind, key=key) from exc
