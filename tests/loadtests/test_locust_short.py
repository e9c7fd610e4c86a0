"""A short headless Locust run against a real local cluster (Locust runs as a subprocess:
importing it would monkey-patch pytest's process with gevent)."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.launcher import LocalCluster
from loadtests.locust_setup import warm_up

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), base_port=0, sites=1, centrals=2)
    try:
        local.start()
        centrals = [proc.url for proc in local.procs if proc.role == "central"]
        assert asyncio.run(warm_up(centrals, 1)) == {"branch-north"}  # prompts rendered before the load
        yield local
    finally:
        local.stop()


def test_short_locust_run_answers_every_call(cluster: LocalCluster, tmp_path: Path) -> None:
    central = ",".join(proc.url for proc in cluster.procs if proc.role == "central")
    results = tmp_path / "results"
    command = [
        sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--headless", "--only-summary",
        "-t", "30s", "--central", central, "--results-dir", str(results), "--csv", str(results / "locust"),
        "--arrival-rate", "0.4", "--user-rate", "0.1", "--media-share", "0.15", "--seed", "7",
        "--agents", "demo:2", "--ring-delay-s", "0.5", "--wrap-up-s", "0.5", "--break-prob", "0",
        "--patience-s", "150", "--patience-dist", "fixed", "--callback-prob", "0",
        "--handle-time-s", "2", "--handle-dist", "fixed", "--drain-s", "45",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110, check=False)
    assert run.returncode == 0, run.stderr[-3000:]

    report = json.loads((results / "report.json").read_text())
    calls, agents = report["calls"], report["agents"]
    assert calls["failed"] == 0, calls["failed_by_reason"]
    assert 4 <= calls["placed"] <= 30  # Poisson, 0.4 calls/s for 30 s
    assert calls["answered"] == calls["offered"] == calls["placed"]  # patience outlasts every wait
    assert calls["abandoned"] == calls["callback"] == calls["ended_by_site"] == calls["unfinished"] == 0
    assert calls["service_level"] is not None and calls["asa_s"] is not None
    assert calls["media_calls"] >= 1 and calls["media_audio_frames_min"] > 0  # real audio both ways
    assert agents["logged_in"] == 2 and agents["answered"] == calls["answered"]
    assert agents["failed_by_reason"] == {}
    assert report["generators"]["local"]["calls_in_flight_peak"] >= 1
    assert "service level" in (results / "summary.txt").read_text()

    rows = list(csv.DictReader(open(results / "locust_stats.csv")))
    by_name = {(r["Type"], r["Name"]): r for r in rows}
    for step in ("route", "connect", "connect_media", "ivr", "queue_wait", "talk", "hangup"):
        assert int(by_name["CALL", step]["Request Count"]) >= 1, step
        assert by_name["CALL", step]["Failure Count"] == "0", step
    assert int(by_name["AGENT", "answer"]["Request Count"]) == calls["answered"]
    assert (results / "locust_stats_history.csv").exists()  # Locust's own --csv output
