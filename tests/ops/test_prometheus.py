"""The shipped alert rules and dashboard: promtool checks them, every metric they name is one
the code exports, and a real Prometheus scraping a running cluster fires "site down" when a
site is SIGKILLed."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from cluster.etcd_server import free_port
from tests.e2e.helpers import running_cluster

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "callcenter.json"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")


@needs_promtool
@pytest.mark.parametrize("check", [["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]])
def test_promtool_accepts_the_rules_and_their_unit_tests(check: list[str]) -> None:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, *check], cwd=RULES.parent, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _expressions() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    exprs = [str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    exprs += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def _exported() -> set[str]:
    import central.failure.confirmer
    import central.node
    import central.routing.router  # noqa: F401
    import cluster.etcd
    import cluster.looplag  # noqa: F401
    import site_node.metrics  # noqa: F401

    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


def test_every_metric_the_rules_and_dashboard_use_is_exported() -> None:
    """A renamed metric must not leave an alert that can never fire."""
    used = {name for expr in _expressions() for name in re.findall(r"\bcc_[a-z_]+", expr)}
    assert used, "no cc_ metric named"
    assert sorted(used - _exported()) == []


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _wait(what: str, check: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:  # Prometheus still starting
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen in {timeout_s} s (last: {last!r})")


@pytest.mark.slow
@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (Debian package prometheus)")
def test_a_real_prometheus_fires_site_down_when_a_site_is_killed(tmp_path: Path) -> None:
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "CallcenterSiteDown":
                rule["for"] = "2s"  # the shipped 30 s, shortened so the test does not wait for it
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    with running_cluster(tmp_path / "cluster", sites=2, centrals=1, seed=False) as cluster:
        sites = {p.name: f"127.0.0.1:{p.port}" for p in cluster.procs if p.role == "site"}
        centrals = [f"127.0.0.1:{p.port}" for p in cluster.procs if p.role == "central"]
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
            "rule_files": [str(tmp_path / "alerts.yml")],
            "scrape_configs": [
                {"job_name": "callcenter-site", "static_configs": [{"targets": sorted(sites.values())}]},
                {"job_name": "callcenter-central", "static_configs": [{"targets": centrals}]},
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        api = f"http://127.0.0.1:{port}/api/v1"
        assert PROMETHEUS is not None
        with (tmp_path / "prometheus.log").open("w") as log:
            prometheus = subprocess.Popen(
                [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:

            def every_site_scraped() -> bool:
                result = _get(api + "/query?query=" + "count(cc_agents%7Bstate%3D%22ready%22%7D)")["data"]["result"]
                return bool(result) and result[0]["value"][1] == str(len(sites))

            _wait("every site's contact-center metrics in Prometheus", every_site_scraped, 30)
            victim = sorted(sites)[0]
            cluster_proc = next(p for p in cluster.procs if p.name == victim)
            cluster_proc.signal(signal.SIGKILL)

            def site_down_firing() -> list[dict[str, Any]]:
                alerts = _get(api + "/alerts")["data"]["alerts"]
                return [
                    a for a in alerts if a["labels"]["alertname"] == "CallcenterSiteDown" and a["state"] == "firing"
                ]

            firing = _wait("CallcenterSiteDown firing", site_down_firing, 30)
            assert [a["labels"]["instance"] for a in firing] == [sites[victim]]
            assert firing[0]["labels"]["severity"] == "critical"
            alerts = _get(api + "/alerts")["data"]["alerts"]
            assert not [
                a for a in alerts if a["labels"]["alertname"] == "CallcenterNoLeader" and a["state"] == "firing"
            ]
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=20)
