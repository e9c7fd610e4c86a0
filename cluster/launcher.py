"""A whole local cluster as real subprocesses: etcd, central replicas and site nodes.

Used by ``callcenter demo`` (foreground, status printed, Ctrl-C stops everything cleanly),
by end-to-end tests and by the chaos runner (which kills and pauses these processes).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster import kamailio
from cluster.children import die_with_parent
from cluster.errors import CallCenterError
from cluster.etcd_server import EtcdCluster, free_port
from cluster.tls import client_ssl
from cluster.tls_certs import DemoCerts, make_demo_certs

DEMO_SITES = ("branch-north", "branch-south", "branch-east")
LOOPBACK_CLIENT = "127.0.0.1"  # where local clients (Locust, tests, the demo's browser) come from


@dataclass
class Proc:
    role: str
    name: str
    port: int
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    scheme: str = "http"  # https when the cluster runs with TLS

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as logfile:
            self.process = subprocess.Popen(
                self.args,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused process cannot exit
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def http_json(
    url: str, timeout_s: float = 1.0, *, ca_file: Path | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """GET a JSON object; ``https`` URLs are checked against ``ca_file`` (or ``CC_TLS__CA_FILE``)."""
    context = client_ssl(ca_file) if url.startswith("https:") else None
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as response:
            body = json.loads(response.read())
            return body if isinstance(body, dict) else None
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class SitePlacement:
    """Where a site runs when not on loopback (a network namespace, for real network cuts):
    the command prefix that enters it, the site's address there, and the host's address that
    the site reaches etcd by."""

    prefix: tuple[str, ...]
    host: str
    etcd_host: str


@dataclass
class LocalCluster:
    base_dir: Path
    sites: int = 3
    centrals: int = 2
    base_port: int = 8000
    seed: bool = True
    etcd_members: int = 1
    lease_ttl_s: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    placements: dict[str, SitePlacement] = field(default_factory=dict)
    agents: int = 0  # simulated agents per site (the demo's default is 3)
    tls: bool = False  # a throw-away CA and certificate in base_dir/tls; every listener https/wss
    certs: DemoCerts | None = None
    sip_edges: int = 0  # SIP edges behind one Kamailio (the demo's default is 1); needs kamailio
    backoffice: bool = False  # the back-office simulator (``callcenter backoffice``; the demo starts it)
    sip_procs: list[Proc] = field(default_factory=list)  # Kamailio and the edges
    sip_address: tuple[str, int] | None = None  # the trunk's address (Kamailio), once started
    sip_metrics_urls: list[str] = field(default_factory=list)  # each edge's /metrics
    etcd: EtcdCluster | None = None
    procs: list[Proc] = field(default_factory=list)
    agent_procs: list[Proc] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the seed says a newcomer can try
    # The cluster's token secret: the environment's if set, else a random one for this run only.
    secret: str = field(default_factory=lambda: os.environ.get("CC_TOKENS__SECRET") or secrets.token_urlsafe(48))
    account_key: str = field(
        default_factory=lambda: os.environ.get("CC_SITE__ACCOUNT_HASH_KEY") or secrets.token_urlsafe(48)
    )
    # The key recordings and voicemail are sealed with (per run, like the account key).
    recording_key: str = field(
        default_factory=lambda: os.environ.get("CC_SITE__RECORDING_KEY") or secrets.token_urlsafe(48)
    )

    def operator_headers(self) -> dict[str, str]:
        """A manager's bearer token for this run's own tools (status checks, tests, chaos)."""
        from cluster.tokens import TokenSigner

        token = TokenSigner(self.secret, ttl_s=3600).issue("agent", "demo-operator", role="manager")
        return {"Authorization": f"Bearer {token}"}

    def site_names(self) -> list[str]:
        names = list(DEMO_SITES[: self.sites])
        names += [f"branch-{i + 1}" for i in range(len(names), self.sites)]
        return names

    def _port(self, index: int) -> int:
        return free_port() if self.base_port == 0 else self.base_port + index

    def _env(self) -> dict[str, str]:
        assert self.etcd is not None
        env = dict(os.environ)
        env.update(
            {
                "CC_TOKENS__SECRET": self.secret,
                "CC_SITE__ACCOUNT_HASH_KEY": self.account_key,
                "CC_SITE__RECORDING_KEY": self.recording_key,
                "CC_ETCD__ENDPOINTS": ",".join(self.etcd.endpoints),
                "CC_ETCD__LEASE_TTL_S": str(self.lease_ttl_s),
                # Locust, the chaos run and the tests route many callers from this machine: its
                # loopback address skips the per-client route limits (the global one holds). A
                # client on any other address, 127.0.0.2 included, gets the configured limits.
                "CC_CENTRAL__ROUTE_LIMITS__EXEMPT_ADDRESSES": f"[{LOOPBACK_CLIENT}]",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.certs is not None:
            env.update(self.certs.env())
        env.update(self.extra_env)
        return env

    @property
    def ca_file(self) -> Path | None:
        """The CA clients must trust (``--tls``), else ``None``."""
        return self.certs.ca_file if self.certs is not None else None

    def _proc(self, role: str, name: str, port: int, args: list[str], env: dict[str, str], **kw: Any) -> Proc:
        scheme = "https" if self.certs is not None else "http"
        return Proc(role, name, port, args, env, self.base_dir / f"{name}.log", scheme=scheme, **kw)

    def start(self, *, timeout_s: float = 60.0) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        etcd_hosts = tuple(sorted({p.etcd_host for p in self.placements.values()}))
        self.etcd = EtcdCluster(
            self.base_dir / "etcd", cluster_size=self.etcd_members, extra_client_hosts=etcd_hosts
        ).start()
        if self.tls and self.certs is None:
            self.certs = make_demo_certs(self.base_dir / "tls")
        env = self._env()
        exe = [sys.executable, "-m", "cluster.cli"]
        names = self.site_names()
        if self.seed:
            self._seed(names, env)
        # the business database of record: one SQLite file shared by the central replicas
        central_env = {"CC_BUSINESS__DATA_DIR": str(self.base_dir / "data"), "CC_BUSINESS__ACCOUNT_SALT":
                       self.account_key, "CC_BUSINESS__SEED_DEMO": "true" if self.seed else "false", **env}  # fmt: skip
        if self.backoffice:  # before the centrals: their resources call it
            port = self._port(50)
            args = [*exe, "backoffice", "--port", str(port)]
            self.procs.append(self._proc("backoffice", "backoffice", port, args, env))
            central_env["CC_RESOURCES__BACKOFFICE_URL"] = f"http://127.0.0.1:{port}"
        for i in range(self.centrals):
            port = self._port(i)
            name = f"central-{i + 1}"
            args = [*exe, "central", "--name", name, "--port", str(port)]
            self.procs.append(self._proc("central", name, port, args, central_env))
        for j, name in enumerate(names):
            port = self._port(10 + j)
            backup = names[(j + 1) % len(names)] if len(names) > 1 else ""
            args = [*exe, "site", "--name", name, "--port", str(port), "--data-dir", str(self.base_dir / "data")]
            if backup:
                args += ["--backup", backup]
            placed = self.placements.get(name)
            if placed is None:
                self.procs.append(self._proc("site", name, port, args, env))
                continue
            site_env = {
                **env,
                "CC_ETCD__ENDPOINTS": ",".join(self.etcd.endpoints_via(placed.etcd_host)),
                "CC_SITE__HTTP__HOST": placed.host,
                "CC_SITE__MEDIA__HOST_ADDRESSES": f"[{placed.host}]",
            }
            self.procs.append(self._proc("site", name, port, [*placed.prefix, *args], site_env, host=placed.host))
        for proc in self.procs:
            proc.start()
        self.wait_healthy(timeout_s=timeout_s)
        try:
            self._start_sip(env, timeout_s=timeout_s)
        except CallCenterError as exc:  # the cluster is useful without its phone line
            for proc in self.sip_procs:
                proc.stop()
            self.sip_procs.clear()
            self.notes.append(f"sip             not started: {exc.message}")
        self._start_agents(env)

    def _start_sip(self, env: dict[str, str], *, timeout_s: float) -> None:
        """Kamailio on the trunk's address and the SIP edges behind it (``python -m cluster.cli
        sip-edge``, a role command); without kamailio installed, the cluster runs without SIP."""
        if self.sip_edges <= 0:
            return
        if kamailio.kamailio_binary() is None:
            self.notes.append("sip             not started: kamailio is not installed (apt-get install kamailio)")
            return
        central_urls = ",".join(p.url for p in self.procs if p.role == "central")
        edges: list[tuple[str, int]] = []
        for i in range(self.sip_edges):
            port, name, metrics_port = self._port(61 + i), f"sip-edge-{i + 1}", self._port(71 + i)
            args = [sys.executable, "-m", "cluster.cli", "sip-edge", "--name", name, "--port", str(port),
                    "--central", central_urls, "--metrics-port", str(metrics_port)]  # fmt: skip
            self.sip_metrics_urls.append(f"http://127.0.0.1:{metrics_port}/metrics")
            self.sip_procs.append(Proc("sip-edge", name, port, args, env, self.base_dir / f"{name}.log"))
            edges.append(("127.0.0.1", port))
        trunk = ("127.0.0.1", self._port(60))
        run_dir = self.base_dir / "kamailio"
        cfg = kamailio.write_config(run_dir, trunk[0], trunk[1], edges)
        self.sip_procs.append(
            Proc("kamailio", "kamailio", trunk[1], kamailio.command(cfg, run_dir), env, self.base_dir / "kamailio.log")
        )
        for proc in self.sip_procs:
            proc.start()
        deadline = time.monotonic() + timeout_s
        for proc in self.sip_procs:
            while kamailio.sip_ping(proc.host, proc.port) is None:
                if not proc.alive:
                    raise CallCenterError(f"{proc.name} exited; see {proc.log_path}", error_id="demo.process_died")
                if time.monotonic() > deadline:
                    raise CallCenterError(f"{proc.name} does not answer SIP; see {proc.log_path}",
                                          error_id="demo.timeout")  # fmt: skip
                time.sleep(0.1)
        self.sip_address = trunk

    def _start_agents(self, env: dict[str, str]) -> None:
        """Simulated agents at every site (``python -m cluster.cli agents``, from webrtc_client)."""
        if self.agents <= 0:
            return
        central_urls = ",".join(p.url for p in self.procs if p.role == "central")
        for proc in [p for p in self.procs if p.role == "site"]:
            args = [
                sys.executable,
                "-m",
                "cluster.cli",
                "agents",
                "--site",
                proc.url,
                "--site-name",
                proc.name,
                "--central",
                central_urls,
                "--count",
                str(self.agents),
            ]
            agents = Proc("agents", f"agents@{proc.name}", 0, args, env, self.base_dir / f"agents-{proc.name}.log")
            agents.start()
            self.agent_procs.append(agents)

    def _seed(self, names: list[str], env: dict[str, str]) -> None:
        data = self.base_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        for name in names:
            url = f"sqlite+aiosqlite:///{data / name}.db"
            result = subprocess.run(
                [sys.executable, "-m", "cluster.cli", "seed", "--site", name, "--database-url", url],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise CallCenterError(
                    f"seeding {name} failed: {result.stderr.strip()[-500:]}", error_id="demo.seed_failed"
                )
            for line in result.stdout.splitlines():
                note = line.replace("demo customer: ", "demo customer   ", 1)
                if line.startswith("demo customer:") and note not in self.notes:
                    self.notes.append(note)

    def wait_healthy(self, *, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        for proc in self.procs:
            while True:
                health = http_json(proc.url + "/healthz", ca_file=self.ca_file)
                if health is not None and (proc.role != "site" or health.get("member")):
                    break
                if not proc.alive:
                    raise CallCenterError(f"{proc.name} exited; see {proc.log_path}", error_id="demo.process_died")
                if time.monotonic() > deadline:
                    raise CallCenterError(f"{proc.name} not healthy; see {proc.log_path}", error_id="demo.timeout")
                time.sleep(0.1)

    def leader(self) -> str | None:
        for proc in self.procs:
            if proc.role == "central" and proc.alive:
                health = http_json(proc.url + "/healthz", ca_file=self.ca_file)
                if health and health.get("leader"):
                    return proc.name
        return None

    def status_lines(self) -> list[str]:
        assert self.etcd is not None
        lines = [f"etcd       {', '.join(self.etcd.endpoints)}"]
        for proc in self.procs:
            health = http_json(proc.url + "/healthz", ca_file=self.ca_file) if proc.alive else None
            if proc.role == "backoffice":
                state = "up" if health else "down"
            elif proc.role == "central":
                state = "LEADER" if health and health.get("leader") else ("follower" if health else "down")
            else:
                state = "member" if health and health.get("member") else "down"
            lines.append(f"{proc.role:<10} {proc.name:<14} {proc.url:<24} {state}")
        if self.sip_address is not None:
            edges = ", ".join(f"{p.name} udp {p.host}:{p.port}" for p in self.sip_procs if p.role == "sip-edge")
            lines.append(f"sip        udp {self.sip_address[0]}:{self.sip_address[1]}   (Kamailio; edges: {edges})")
        return lines

    def try_lines(self) -> list[str]:
        """Where a newcomer goes first: pages, credentials, the backup ring, a first call."""
        central = next((p.url for p in self.procs if p.role == "central"), "")
        sites = [p for p in self.procs if p.role == "site"]
        if not sites:
            return []
        first = sites[0]
        backoffice = [p for p in self.procs if p.role == "backoffice"]
        short = first.name.removeprefix("branch-")
        ring = " -> ".join([*(p.name for p in sites), sites[0].name]) if len(sites) > 1 else "(one site: none)"
        lines = [
            f"agent desktop   {first.url}/agent?central={central}   (log in as {short}-01 / demo; every "
            "demo agent's password is demo)",
            f"customer page   {first.url}/customer?central={central}",
            f"wallboard       {central}/wallboard",
            *(f"back office     {p.url}   (bank core system, gas billing: simulated)" for p in backoffice),
            f"backup ring     {ring}   (a failed branch's agents carry on at the next)",
        ]
        if self.agent_procs:
            lines.append(
                f"simulated       {self.agents} agents per site answer calls (logs: {self.base_dir}/agents-*.log)"
            )
        lines += self.notes
        trust = f" --ca-file {self.ca_file}" if self.ca_file is not None else ""
        lines.append(f"first call      callcenter call --to 95589 --digits 0 --central {central}{trust}")
        if self.ca_file is not None:
            lines.append(f"TLS             every URL is https/wss; trust the throw-away CA {self.ca_file}")
        if self.sip_address is not None:
            host, port = self.sip_address
            lines.append(f"phone call      sipp -sf loadtests/sip/uac_ivr.xml -s 95589 -m 1 {host}:{port}   (README)")
        return lines

    def stop(self) -> None:
        for proc in [*self.agent_procs, *self.sip_procs]:
            proc.stop()
        for proc in reversed(self.procs):
            proc.signal(signal.SIGCONT)
            proc.signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            proc.stop()
        if self.etcd is not None:
            self.etcd.stop()

    def run_foreground(self) -> None:
        """Run until Ctrl-C, SIGTERM (a service manager, ``timeout``, CI) or SIGHUP (the
        terminal closed): each stops every process of the cluster before returning."""
        print(f"starting local cluster in {self.base_dir} ...", flush=True)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupt)
        try:
            self.start()
            print("\n".join(self.status_lines()), flush=True)
            print("\n".join(self.try_lines()), flush=True)
            print(f"current leader: {self.leader()}", flush=True)
            print(f"logs: {self.base_dir}/*.log   (Ctrl-C stops every process)", flush=True)
            last_leader = self.leader()
            while True:
                time.sleep(1.0)
                for proc in self.procs:
                    if proc.process is not None and proc.process.poll() is not None:
                        print(f"{proc.name} exited with {proc.process.returncode}; see {proc.log_path}", flush=True)
                        proc.process = None
                leader = self.leader()
                if leader != last_leader:
                    print(f"leader is now {leader}", flush=True)
                    last_leader = leader
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)
        finally:
            for sig in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the stop short
            self.stop()
            print("all processes stopped", flush=True)
