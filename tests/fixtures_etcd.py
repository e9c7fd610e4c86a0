"""Pytest fixtures: a real etcd server on free ports in a temp dir, and helpers for
processes started by tests."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cluster.etcd import Etcd
from cluster.etcd_server import EtcdCluster
from cluster.keys import Keyspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd")).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def etcd_endpoints(etcd_server: EtcdCluster) -> list[str]:
    return etcd_server.endpoints


@pytest.fixture
def keyspace() -> Keyspace:
    """A fresh key prefix per test, so tests sharing one etcd never see each other."""
    return Keyspace(f"/t-{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def etcd(etcd_endpoints: list[str]) -> AsyncIterator[Etcd]:
    client = await Etcd.connect(etcd_endpoints, timeout_s=10)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def proc_env(etcd_endpoints: list[str], keyspace: Keyspace) -> dict[str, str]:
    """Environment for subprocesses: our etcd, our prefix, a 2 s lease."""
    env = dict(os.environ)
    env.update(
        {
            "CC_ETCD__ENDPOINTS": ",".join(etcd_endpoints),
            "CC_ETCD__PREFIX": keyspace.prefix,
            "CC_ETCD__LEASE_TTL_S": "2",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            "CC_TOKENS__SECRET": secrets.token_urlsafe(48),  # a fresh one per test: no default exists
            "CC_SITE__ACCOUNT_HASH_KEY": secrets.token_urlsafe(48),
            "CC_SITE__RECORDING_KEY": secrets.token_urlsafe(48),
        }
    )
    return env


class Procs:
    """Subprocesses started by a test; all are killed (and resumed first) at teardown."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], env: dict[str, str], *, stdin: bool = False) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.started.append(proc)
        return proc

    def cli(self, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
        return self.start([sys.executable, "-m", "cluster.cli", *args], env)

    def close(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
        for proc in self.started:
            proc.wait(timeout=10)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


@pytest.fixture
def procs() -> Iterator[Procs]:
    started = Procs()
    try:
        yield started
    finally:
        started.close()
