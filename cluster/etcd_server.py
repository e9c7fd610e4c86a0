"""Start real etcd servers for development, the local demo and tests.

Uses the ``etcd`` binary from Debian's ``etcd-server`` package (or ``$CC_ETCD_BINARY``),
on loopback, on free ports, with its data in a directory of ours. One member by default;
``cluster_size=3`` starts a real three-member cluster (used by the chaos runner).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cluster.children import die_with_parent
from cluster.errors import CallCenterError


class EtcdNotInstalled(CallCenterError):
    error_id = "etcd.not_installed"


_handed_out: set[int] = set()
_LOWEST_PORT = 20000


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free now and that the kernel will not hand out as a client's source port.

    ``bind(0)`` would pick from the ephemeral range, where an outgoing connection of any process
    may take the port before our child binds it (seen as ``http.port_in_use`` under load). So
    pick at random below that range, skip ports this process already handed out, and check that
    the port binds.
    """
    high = max(_LOWEST_PORT + 1000, _ephemeral_low() - 1)
    for _ in range(200):
        port = random.randint(_LOWEST_PORT, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded machine: any port
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def etcd_binary() -> str:
    path = os.environ.get("CC_ETCD_BINARY") or shutil.which("etcd") or "/usr/bin/etcd"
    if not Path(path).exists():
        raise EtcdNotInstalled(
            "no etcd binary found: install Debian's etcd-server (apt-get install etcd-server)"
            " or set CC_ETCD_BINARY"
        )
    return path


@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    client_hosts: tuple[str, ...] = ("127.0.0.1",)  # more: reachable from a site's network namespace

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def client_urls(self) -> str:
        return ",".join(f"http://{host}:{self.client_port}" for host in self.client_hosts)

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


@dataclass
class EtcdCluster:
    """One or more real etcd members on loopback."""

    base_dir: Path
    cluster_size: int = 1
    heartbeat_ms: int = 100
    election_ms: int = 1000
    members: list[EtcdMember] = field(default_factory=list)
    extra_client_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.members:
            self.members = [
                EtcdMember(f"etcd{i}", free_port(), free_port(), self.base_dir / f"etcd{i}",
                           client_hosts=("127.0.0.1", *self.extra_client_hosts))
                for i in range(self.cluster_size)
            ]

    @property
    def endpoints(self) -> list[str]:
        return [m.endpoint for m in self.members]

    def endpoints_via(self, host: str) -> list[str]:
        """The client endpoints as seen from ``host`` (one of ``extra_client_hosts``)."""
        return [f"{host}:{m.client_port}" for m in self.members]

    def _initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def start_member(self, member: EtcdMember, *, state: str = "new") -> None:
        member.data_dir.mkdir(parents=True, exist_ok=True)
        member.log_path = self.base_dir / f"{member.name}.log"
        args = [
            etcd_binary(),
            "--name", member.name,
            "--data-dir", str(member.data_dir),
            "--listen-client-urls", member.client_urls,
            "--advertise-client-urls", member.client_urls,
            "--listen-peer-urls", member.peer_url,
            "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", self._initial_cluster(),
            "--initial-cluster-state", state,
            "--initial-cluster-token", f"cc-{self.base_dir.name}",
            "--heartbeat-interval", str(self.heartbeat_ms),
            "--election-timeout", str(self.election_ms),
            "--logger", "zap",
            "--log-level", "warn",
        ]
        with open(member.log_path, "ab") as logfile:
            member.process = subprocess.Popen(
                args, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent()
            )

    def start(self, *, timeout_s: float = 20.0) -> EtcdCluster:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for member in self.members:
            self.start_member(member)
        self.wait_ready(timeout_s=timeout_s)
        return self

    def wait_ready(self, *, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        pending = [m for m in self.members if m.process is not None and m.process.poll() is None]
        while pending:
            member = pending[0]
            if _health_ok(member.client_port):
                pending.pop(0)
                continue
            if member.process is not None and member.process.poll() is not None:
                raise CallCenterError(
                    f"etcd member {member.name} exited; see {member.log_path}", error_id="etcd.start_failed"
                )
            if time.monotonic() > deadline:
                raise CallCenterError(
                    f"etcd member {member.name} not ready after {timeout_s:.0f} s; see {member.log_path}",
                    error_id="etcd.start_failed",
                )
            time.sleep(0.05)

    def kill_member(self, member: EtcdMember, sig: int = signal.SIGKILL) -> None:
        if member.process is not None and member.process.poll() is None:
            member.process.send_signal(sig)
            member.process.wait(timeout=10)

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                member.process.terminate()
        for member in self.members:
            if member.process is not None:
                try:
                    member.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    member.process.kill()
                    member.process.wait()


def _health_ok(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=0.5) as response:
            return b'"health":"true"' in response.read()
    except OSError:
        return False
