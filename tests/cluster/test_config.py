"""Typed configuration: precedence and rejection of bad keys and values, naming the key."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from central.config import CentralSettings
from cluster import config as config_module
from cluster.config import ClusterSettings, Section, load_settings, settings_model
from cluster.errors import ConfigError
from site_node.config import SiteSettings, TimersConfig


def test_defaults_then_file_then_environment(tmp_path) -> None:
    path = tmp_path / "cc.yaml"
    path.write_text("site:\n  name: from-file\n  http:\n    port: 9100\netcd:\n  lease_ttl_s: 5\n")
    settings = load_settings(path, environ={"CC_SITE__NAME": "from-env"})
    assert settings.site.name == "from-env"
    assert settings.site.http.port == 9100
    assert settings.etcd.lease_ttl_s == 5
    assert settings.central.http.port == 8000


@pytest.mark.parametrize(
    ("environ", "error_id", "key"),
    [
        ({"CC_SITE__NAEM": "x"}, "config.unknown_key", "site.naem"),
        ({"CC_SITE__HTTP__PORT": "70000"}, "config.bad_value", "site.http.port"),
        ({"CC_ETCD__ENDPOINTS": "no-port-here"}, "config.bad_value", "etcd.endpoints"),
        ({"CC_ETCD__LEASE_TTL_S": "zero"}, "config.bad_value", "etcd.lease_ttl_s"),
        ({"CC_LOG_LEVEL": "LOUD"}, "config.bad_value", "log_level"),
        ({"CC_SITE__TIMERS__GONE_GRACE_S": "0"}, "config.bad_value", "site.timers.gone_grace_s"),
        ({"CC_CENTRAL__TIMERS__WATCH_RETRY_S": "-1"}, "config.bad_value", "central.timers.watch_retry_s"),
        ({"CC_NOSUCHROLE__X": "1"}, "config.unknown_key", "nosuchrole"),
    ],
)
def test_bad_configuration_is_rejected_naming_the_key(environ: dict[str, str], error_id: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert caught.value.error_id == error_id
    assert caught.value.details["key"] == key
    assert repr(key) in str(caught.value)


@pytest.mark.parametrize("model", [None, SiteSettings, CentralSettings])
def test_every_role_validates_the_whole_tree(model: type[ClusterSettings] | None) -> None:
    """A file shared by all processes may name any role's section; a typo there stops every role."""
    environ = {"CC_SITE__NAME": "north", "CC_CENTRAL__NAME": "c-2"}
    load_settings(environ=environ, model=model)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={**environ, "CC_CENTRAL__NAEM": "x"}, model=model)
    assert caught.value.details["key"] == "central.naem"


def test_a_role_gets_its_own_typed_settings() -> None:
    environ = {"CC_SITE__TIMERS__REATTACH_WAIT_S": "4.5", "CC_CENTRAL__TIMERS__WATCH_RETRY_S": "0.25"}
    site = load_settings(environ=environ, model=SiteSettings)
    assert type(site) is SiteSettings
    assert site.site.timers.reattach_wait_s == 4.5
    assert site.site.timers.gone_grace_s == TimersConfig().gone_grace_s == 5.0
    assert site.etcd.prefix == "/cc" and site.log_level == "INFO"
    central = load_settings(environ=environ, model=CentralSettings)
    assert type(central) is CentralSettings
    assert central.central.timers.watch_retry_s == 0.25
    assert central.central.timers.failover_retry_s == 0.5


def test_sections_compose_from_what_roles_contribute() -> None:
    class PagerConfig(Section):
        beeps: int = 1

    model = settings_model(sections={"pager": PagerConfig})
    assert model.model_validate({"pager": {"beeps": 3}}).pager.beeps == 3  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as caught:
        config_module.validate_tree(model, {"pager": {"boops": 3}})
    assert caught.value.details["key"] == "pager.boops"
    with pytest.raises(ConfigError, match=r"'site'"):  # not contributed here: unknown
        config_module.validate_tree(model, {"site": {"name": "x"}})


def test_a_role_whose_section_fails_to_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    points = [
        EntryPoint("site", "site_node.config:SiteConfig", config_module.SECTIONS_GROUP),
        EntryPoint("broken", "no_such_role.config:BrokenConfig", config_module.SECTIONS_GROUP),
    ]
    monkeypatch.setattr(config_module, "entry_points", lambda group: [p for p in points if p.group == group])
    config_module._contributed.cache_clear()
    try:
        assert load_settings(environ={"CC_SITE__NAME": "ok"}).site.name == "ok"  # type: ignore[attr-defined]
        with pytest.raises(ConfigError) as caught:
            load_settings(environ={"CC_BROKEN__X": "1"})
        assert caught.value.details["key"] == "broken"
        assert "no_such_role" in str(caught.value)
    finally:
        config_module._contributed.cache_clear()


def test_bad_file_is_rejected(tmp_path) -> None:
    path = tmp_path / "cc.yaml"
    path.write_text("central:\n  routing_capacity: 5\n")
    with pytest.raises(ConfigError, match=r"central\.routing_capacity"):
        load_settings(path, environ={})
    with pytest.raises(ConfigError) as missing:
        load_settings(tmp_path / "nope.yaml", environ={})
    assert missing.value.error_id == "config.file_missing"


def test_cli_refuses_to_start_with_bad_config(tmp_path) -> None:
    path = tmp_path / "cc.yaml"
    path.write_text("site:\n  port: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "site", "--config", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0
    assert "site.port" in result.stderr and "unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_unrelated_cc_variables_are_not_ours() -> None:
    """Autotools' ``CC_FOR_BUILD`` and the tests' ``CC_ETCD_BINARY`` are not configuration."""
    environ = {"CC_FOR_BUILD": "gcc", "CC_ETCD_BINARY": "/usr/bin/etcd", "CC": "cc", "CC_SITE__NAME": "north"}
    settings = load_settings(environ=environ, model=SiteSettings)
    assert settings.site.name == "north"
    assert load_settings(environ={"CC_LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"CC_SITE__HTTP__PORT": "70000"})
    assert "CC_SITE__HTTP__PORT" in str(caught.value) and "site.http.port" in str(caught.value)
    assert caught.value.details["variable"] == "CC_SITE__HTTP__PORT"
    with pytest.raises(ConfigError, match="CC_STIE__NAME"):  # a misspelt section is still an error
        load_settings(environ={"CC_STIE__NAME": "x"})


def test_a_value_overridden_on_the_command_line_is_not_blamed_on_the_environment(tmp_path) -> None:
    path = tmp_path / "cc.yaml"
    path.write_text("site:\n  http:\n    port: 99999\n")
    with pytest.raises(ConfigError) as from_file:
        load_settings(path, environ={"CC_SITE__NAME": "north"})
    assert "environment" not in str(from_file.value) and from_file.value.details["key"] == "site.http.port"
    with pytest.raises(ConfigError) as overridden:
        load_settings(environ={"CC_SITE__HTTP__PORT": "8080"}, overrides={"site": {"http": {"port": 70000}}})
    assert "environment" not in str(overridden.value)


def test_every_command_starts_with_unrelated_cc_variables_set() -> None:
    """``CC_FOR_BUILD=gcc`` used to make every command fail with config.unknown_key."""
    env = {**os.environ, "CC_FOR_BUILD": "gcc"}
    result = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "site", "--port", "70000"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )
    assert result.returncode != 0
    assert "for_build" not in result.stderr and "site.http.port" in result.stderr
