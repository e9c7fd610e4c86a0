"""Processes stop when asked, at any moment, and leave nothing behind: ``callcenter demo`` on
SIGTERM, SIGHUP or its own death by SIGKILL; ``central`` and ``site`` while etcd is still
unreachable (they answer 503 with a stable id meanwhile and log where they look for etcd)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from cluster.etcd_server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[2]


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "CC_LOG_LEVEL": "INFO", "CC_SITE__DATA_DIR": str(tmp / "data"),
            "CC_TOKENS__SECRET": "s" * 48, "CC_SITE__ACCOUNT_HASH_KEY": "k" * 48,
            "CC_SITE__RECORDING_KEY": "r" * 48}


def _start(args: list[str], tmp: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=_env(tmp), cwd=REPO,
    )


def _wait_line(proc: subprocess.Popen[str], needle: str, timeout_s: float) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never printed:\n{''.join(lines)}")


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout_s)
    return alive


def _demo(tmp: Path) -> tuple[subprocess.Popen[str], list[psutil.Process]]:
    base_port = free_port()
    proc = _start(["demo", "--sites", "1", "--centrals", "1", "--base-port", str(base_port), "--no-seed",
                   "--data-dir", str(tmp / "demo")], tmp)
    _wait_line(proc, "current leader", 90)
    children = _descendants(proc.pid)
    assert {"etcd", "central", "site"} <= {c.name() for c in children} | {
        arg for c in children for arg in c.cmdline()[3:5]}
    return proc, children


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_demo_stops_every_process_on_sigterm_and_sighup(tmp_path: Path, sig: signal.Signals) -> None:
    proc, children = _demo(tmp_path)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 0
    assert _gone(children, 5) == [], "processes outlived the demo"


def test_children_of_a_killed_demo_stop_by_themselves(tmp_path: Path) -> None:
    proc, children = _demo(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert _gone(children, 30) == [], "processes outlived the SIGKILLed demo"


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _answer_while_starting(url: str, timeout_s: float = 30) -> tuple[int, dict[str, object]]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _get(url)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize(
    ("role", "path", "error_id", "sig"),
    [
        ("central", "/v1/sites", "central.starting", signal.SIGTERM),
        ("central", "/v1/sites", "central.starting", signal.SIGINT),
        ("site", "/v1/status", "site.starting", signal.SIGTERM),
        ("site", "/v1/status", "site.starting", signal.SIGINT),
    ],
)
def test_a_process_waiting_for_etcd_answers_503_and_stops_on_a_signal(
    tmp_path: Path, role: str, path: str, error_id: str, sig: signal.Signals
) -> None:
    port, nobody = free_port(), free_port()  # nothing listens on ``nobody``: etcd is "down"
    proc = _start([role, "--etcd", f"127.0.0.1:{nobody}", "--port", str(port)], tmp_path)
    try:
        status, body = _answer_while_starting(f"http://127.0.0.1:{port}{path}")
        assert status == 503 and body["error_id"] == error_id
        lines = _wait_line(proc, "is etcd running at", 30)
        assert f"127.0.0.1:{nobody}" in lines[-1] and "--etcd" in lines[-1]
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0, "did not stop on the signal while waiting for etcd"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
