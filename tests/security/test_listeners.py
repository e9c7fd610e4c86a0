"""Findings 6 and 10 at the listeners of a real central process: ``/metrics`` only on its
configured internal listener (``central.metrics.port``; by default on the public one, as
before), and a client that drips its request head byte by byte (slowloris) is disconnected
after ``central.http.header_timeout_s`` while a normal request on the same server still works."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import pytest

from cluster.config import load_settings
from cluster.etcd_server import free_port
from tests.fixtures_etcd import Procs

pytestmark = pytest.mark.timeout(90)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_up(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _get(url)
            return
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, f"nothing answers at {url}"
            time.sleep(0.1)


def _central(procs: Procs, env: dict[str, str], port: int, **extra: str) -> None:
    procs.cli("central", "--name", "c-listen", "--port", str(port), env={**env, **extra})
    _wait_up(f"http://127.0.0.1:{port}/healthz")


def test_metrics_on_the_public_listener_by_default(procs: Procs, proc_env: dict[str, str]) -> None:
    assert load_settings().model_dump()["central"]["metrics"]["port"] is None
    port = free_port()
    _central(procs, proc_env, port)
    status, body = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and b"cc_http_requests_total" in body


def test_metrics_only_on_the_configured_listener(procs: Procs, proc_env: dict[str, str]) -> None:
    port, metrics_port = free_port(), free_port()
    _central(procs, proc_env, port, CC_CENTRAL__METRICS__PORT=str(metrics_port))
    assert _get(f"http://127.0.0.1:{port}/metrics")[0] == 404
    assert _get(f"http://127.0.0.1:{port}/healthz")[0] in (200, 503)
    status, body = _get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert status == 200 and b"cc_central_is_leader" in body
    assert _get(f"http://127.0.0.1:{metrics_port}/healthz")[0] == 404  # the internal listener serves metrics only


def test_a_slow_request_head_is_disconnected(procs: Procs, proc_env: dict[str, str]) -> None:
    port = free_port()
    _central(procs, proc_env, port, CC_CENTRAL__HTTP__HEADER_TIMEOUT_S="2")
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        closed_after = None
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
                sock.settimeout(0.25)
                if sock.recv(1024) == b"":  # the server closed the connection
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
        assert closed_after is not None, "the server waited for the whole slow head"
        assert 1.5 <= closed_after <= 5.0
    assert _get(f"http://127.0.0.1:{port}/healthz")[0] in (200, 503)  # others are still served
