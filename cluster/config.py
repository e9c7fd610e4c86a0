"""Typed configuration: defaults, then a YAML file, then environment variables, then overrides.

Environment variables are named ``CC_<SECTION>__<KEY>`` (e.g. ``CC_ETCD__ENDPOINTS``,
``CC_SITE__NAME``) or ``CC_<TOP_LEVEL_KEY>`` (``CC_LOG_LEVEL``); other ``CC_*`` variables
(``CC_FOR_BUILD`` from autotools) are not ours and are ignored. An unknown key or a bad value
anywhere is rejected at start-up with a :class:`~cluster.errors.ConfigError` naming the key
(``site.port``, not a traceback) and, when it came from the environment, the variable.

This module knows only the role-free sections (``log_level``, ``etcd``, ``tokens``, and the
:class:`HttpConfig` shape roles reuse). Each role package owns its own section and contributes
it through the ``callcenter.config`` entry-point group (section name -> model class), e.g.
``site = "site_node.config:SiteConfig"``. :func:`settings_model` composes one model from the
base and every contributed section, so a file or variable naming any role's section validates
everywhere; a role then narrows the validated tree to its own typed settings, a subclass of
:class:`ClusterSettings` (``site_node.config.SiteSettings``, ``central.config.CentralSettings``)::

    settings = load_settings(path, model=SiteSettings)   # validates the whole tree
    settings.site.acd.ring_timeout_s                      # typed
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from cluster.errors import ConfigError

ENV_PREFIX = "CC_"
SECTIONS_GROUP = "callcenter.config"


class Section(BaseModel):
    """Base of every configuration section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# Validation context key: the files named are on another machine (``callcenter config render``
# checks an inventory's settings without the target hosts' certificates at hand).
ELSEWHERE = "files_elsewhere"


def existing_file(value: Path | None, info: ValidationInfo | None = None) -> Path | None:
    """A configured file must exist (the key is named by the loader), unless the settings are
    validated for another machine (context ``files_elsewhere``)."""
    if info is not None and isinstance(info.context, dict) and info.context.get(ELSEWHERE):
        return value
    if value is not None and not value.is_file():
        raise ValueError(f"no such file: {value}")
    return value


class EtcdConfig(Section):
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

    # Username/password auth (etcd `auth enable`): the password has no default and is required
    # with a user (CC_ETCD__PASSWORD from a secret store); the token is renewed every
    # token_refresh_s, below etcd's --auth-token-ttl (300 s by default).
    user: str | None = None
    password: str | None = None
    token_refresh_s: float = Field(default=240.0, gt=0)

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _readable(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return existing_file(value, info)

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


class HttpConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # A connection must send a whole request head within this (at its start and between
    # keep-alive requests), or it is closed: slow-header (slowloris) clients hold nothing.
    header_timeout_s: float = Field(default=5.0, gt=0, le=300)


class TlsConfig(Section):
    """TLS for the HTTP/WebSocket listeners (``cluster.tls``): this process's certificate and
    key (PEM; reloaded on SIGHUP) and the CA its clients trust for the cluster's own URLs."""

    cert_file: Path | None = None
    key_file: Path | None = None
    ca_file: Path | None = None

    @field_validator("cert_file", "key_file", "ca_file")
    @classmethod
    def _readable(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return existing_file(value, info)

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None


class MetricsConfig(Section):
    """``/metrics`` on its own listener (kept internal); unset port: on the public listener."""

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)


class TokenConfig(Section):
    # No default: every central and site must be given the same secret (CC_TOKENS__SECRET);
    # `callcenter demo` makes a random one per run. Tokens signed with an earlier secret stay
    # valid while it is listed in previous_secrets (rotation: add the new secret, move the old
    # one here, drop it once its tokens have expired).
    secret: str | None = Field(default=None, min_length=32)
    previous_secrets: list[str] = Field(default_factory=list)
    call_ttl_s: float = Field(default=300.0, gt=0)
    agent_ttl_s: float = Field(default=12 * 3600.0, gt=0)


S = TypeVar("S", bound="ClusterSettings")


DEMO_HINT = "at least 32 characters); `callcenter demo` makes one per run"


def required_secret(value: str | None, key: str, what: str, *, hint: str = DEMO_HINT) -> str:
    """A secret setting's value, or a start-up error naming it: no process runs on a default."""
    if value is None:
        env = "CC_" + "__".join(part.upper() for part in key.split("."))
        raise ConfigError(
            f"{key} is not set: {what} ({env}, or {key} in --config; {hint}",
            error_id="config.missing_secret",
            key=key,
        )
    return value


def require_secret(tokens: TokenConfig) -> str:
    """The signing secret (the same at every central and site)."""
    secret = required_secret(tokens.secret, "tokens.secret", "give every central and site the same random secret")
    for old in tokens.previous_secrets:
        if len(old.encode()) < 32:
            raise ConfigError("tokens.previous_secrets: each secret needs at least 32 bytes",
                              error_id="config.bad_value", key="tokens.previous_secrets")
    return secret


def require_etcd_password(etcd: EtcdConfig) -> str | None:
    """The etcd user's password when ``etcd.user`` is set (from the secret store, no default)."""
    if etcd.user is None:
        return None
    return required_secret(etcd.password, "etcd.password", f"the password of etcd user {etcd.user!r}",
                           hint="from your secret store)")


class ClusterSettings(Section):
    """The role-free part of every process's settings; roles subclass it with their sections."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    etcd: EtcdConfig = Field(default_factory=EtcdConfig)
    tokens: TokenConfig = Field(default_factory=TokenConfig)
    tls: TlsConfig = Field(default_factory=TlsConfig)

    def narrow(self, model: type[S]) -> S:
        """The sections of this (validated) tree that ``model`` declares, as a ``model``."""
        return model.model_validate({name: getattr(self, name) for name in model.model_fields if hasattr(self, name)})


@functools.cache
def _contributed() -> tuple[tuple[tuple[str, type[BaseModel]], ...], tuple[tuple[str, str], ...]]:
    found: dict[str, type[BaseModel]] = {}
    broken: dict[str, str] = {}
    for point in entry_points(group=SECTIONS_GROUP):
        if point.name in found or point.name in ClusterSettings.model_fields:
            continue
        try:
            model = point.load()
        except Exception as exc:  # a broken role must not break the others' start-up
            broken[point.name] = f"{point.value}: {type(exc).__name__}: {exc}"
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            broken[point.name] = f"{point.value} is not a configuration model"
            continue
        found[point.name] = model
    return tuple(sorted(found.items())), tuple(sorted(broken.items()))


def contributed_sections() -> dict[str, type[BaseModel]]:
    """Section name -> model, from every installed role's ``callcenter.config`` entry points."""
    return dict(_contributed()[0])


def unavailable_sections() -> dict[str, str]:
    """Sections whose contributing role failed to import (name -> why)."""
    return dict(_contributed()[1])


def settings_model(
    *roles: type[ClusterSettings], sections: Mapping[str, type[BaseModel]] | None = None
) -> type[ClusterSettings]:
    """One model of the whole tree: the base, the contributed ``sections``, and ``roles``' fields.

    ``sections`` defaults to the installed entry points; a role's own fields are always included,
    so a role validates its section even if its entry points are not registered.
    """
    fields: dict[str, Any] = {}
    for name, model in (contributed_sections() if sections is None else sections).items():
        fields[name] = (model, Field(default_factory=model))
    for role in roles:
        for name, info in role.model_fields.items():
            if name not in ClusterSettings.model_fields:
                fields[name] = (info.annotation, info)
    return create_model("Settings", __base__=ClusterSettings, **fields)

def _deep_set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a section", error_id="config.unknown_key")
        node = child
    node[path[-1]] = value


def _env_overrides(environ: Mapping[str, str], known: frozenset[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The tree the ``CC_*`` variables set, and which variable set each key (``site.port`` ->
    ``CC_SITE__PORT``).

    Only our own variables count: ``CC_<SECTION>__<KEY>`` (the ``__`` delimiter marks it as
    ours, so a misspelt section is an error) or ``CC_<TOP_LEVEL_KEY>`` for a known top-level key
    (``CC_LOG_LEVEL``). Other ``CC_*`` variables belong to other tools (``CC_FOR_BUILD=gcc``
    from autotools, ``CC_ETCD_BINARY`` for the tests) and are ignored.
    """
    tree: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if len(path) == 1 and path[0] not in known:
            continue
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise ConfigError(
                    f"environment variable {name} is not valid YAML: {exc}", error_id="config.bad_value",
                    key=".".join(path),
                ) from exc
        _deep_set(tree, path, value)
        origins[".".join(path)] = name
    return tree, origins


def _leaf_keys(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        keys.extend(_leaf_keys(value, dotted + ".") if isinstance(value, dict) and value else [dotted])
    return keys


def _origin(key: str, origins: Mapping[str, str]) -> str | None:
    """The variable that set ``key`` (or the value holding it, or a key inside it), if one did."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        found = origins.get(".".join(parts[:end]))
        if found is not None:
            return found
    return next((name for dotted, name in sorted(origins.items()) if dotted.startswith(key + ".")), None)


def merge_trees(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on top, section by section (neither is changed)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_trees(out[key], value)
        else:
            out[key] = value
    return out


def read_tree(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    known: frozenset[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The raw configuration tree: file < environment < explicit overrides (not validated), and
    which environment variable set each key that still comes from the environment.

    ``known`` is the top-level keys a bare ``CC_<KEY>`` variable may set (default: the
    composed model's).
    """
    if known is None:
        known = frozenset(settings_model().model_fields)
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
    from_env, origins = _env_overrides(os.environ if environ is None else environ, known)
    data = merge_trees(data, from_env)
    if overrides:
        data = merge_trees(data, overrides)
        for key in _leaf_keys(overrides):
            origins = {k: v for k, v in origins.items() if k != key and not k.startswith(key + ".")}
    return data, origins


def validate_tree(
    model: type[S], data: dict[str, Any], origins: Mapping[str, str] | None = None, *, files_elsewhere: bool = False
) -> S:
    """Validate ``data`` as ``model``; the first problem becomes a :class:`ConfigError` naming its
    key, and the environment variable it came from when ``origins`` says one set it."""
    try:
        return model.model_validate(data, context={ELSEWHERE: files_elsewhere})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        kind = "config.unknown_key" if first["type"] == "extra_forbidden" else "config.bad_value"
        problem = "unknown key" if kind == "config.unknown_key" else first["msg"]
        if kind == "config.unknown_key" and key in unavailable_sections():
            problem = f"its role failed to load ({unavailable_sections()[key]})"
        variable = _origin(key, origins or {})
        source = f" (from environment variable {variable})" if variable else ""
        details: dict[str, Any] = {"key": key, **({"variable": variable} if variable else {})}
        raise ConfigError(f"configuration key {key!r}{source}: {problem}", error_id=kind, **details) from exc


@overload
def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    model: None = None,
) -> ClusterSettings: ...


@overload
def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    model: type[S],
) -> S: ...


def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    model: type[ClusterSettings] | None = None,
) -> ClusterSettings:
    """Validate defaults < file < environment < overrides against every role's sections.

    Without ``model`` the result is the composed tree (every contributed section present); with
    a role's settings class it is that class, narrowed from the validated tree.
    """
    roles = () if model is None else (model,)
    composed = settings_model(*roles)
    data, origins = read_tree(path, environ=environ, overrides=overrides, known=frozenset(composed.model_fields))
    tree = validate_tree(composed, data, origins)
    return tree if model is None else tree.narrow(model)
