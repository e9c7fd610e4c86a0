"""Typed configuration: precedence and rejection of bad keys and values, naming the key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cluster.config import load_settings
from cluster.errors import ConfigError


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
    ],
)
def test_bad_configuration_is_rejected_naming_the_key(environ: dict[str, str], error_id: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert caught.value.error_id == error_id
    assert caught.value.details["key"] == key
    assert repr(key) in str(caught.value)


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
