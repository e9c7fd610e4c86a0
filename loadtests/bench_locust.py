"""Load-generator benchmark: concurrent simulated customers one Locust worker process sustains.

    python -m loadtests.bench_locust --json PATH [--quick]

Starts its own local cluster (loopback only; queue length and wait limits raised so that every
caller can wait), then for each step runs a real distributed Locust (a master and ONE worker,
as subprocesses) with no agents: callers arrive (Poisson) at N / (hold + IVR) calls per second,
go through the IVR, wait ``--hold-s`` in queue and hang up, so about N calls are live at once.
Signalling-only callers first, then callers with real WebRTC media (Opus both ways, music on
hold decoded by the client, DTMF as in-band tones).

A step passes when no call failed, the live calls reached 90 % of N, and the worker itself
stayed healthy: CPU below 80 % of one core on average over the 2 s windows in which at least
90 % of N calls were live (no window saturating the core) and event-loop lag p99 below 100 ms.
N grows until a step fails; the figures are the largest passing N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cluster.etcd_server import free_port
from cluster.launcher import LocalCluster
from loadtests.locust_setup import warm_up

ROOT = Path(__file__).resolve().parent.parent
IVR_S = 3.0  # route + join + welcome prompt + the menu digit (measured: 3.1-3.3 s)
CPU_MEAN_MAX = 0.8
CPU_PEAK_MAX = 1.0  # a 2 s window may use the whole core (a burst of Poisson arrivals)
LAG_P99_MAX_MS = 100.0
REACHED = 0.9  # Poisson arrivals: the live count fluctuates around N


class BenchCluster(LocalCluster):
    """The demo cluster with queues that never refuse a caller (the load decides the length)."""

    def _seed(self, names: list[str], env: dict[str, str]) -> None:
        super()._seed(names, env)
        for name in names:
            with sqlite3.connect(self.base_dir / "data" / f"{name}.db") as db:
                db.execute("UPDATE queues SET max_length = 100000, max_wait_s = 3600")


def run_step(cluster: LocalCluster, out: Path, *, media: bool, n: int, hold_s: float) -> dict[str, Any]:
    central = ",".join(p.url for p in cluster.procs if p.role == "central")
    rate = n / (hold_s + IVR_S)
    run_s = int(hold_s + IVR_S + max(15.0, hold_s * 0.75))
    results = out / f"{'media' if media else 'signalling'}-{n}"
    port = free_port()
    common = ["-f", "loadtests/locustfile.py"]
    master = [
        sys.executable, "-m", "locust", *common, "--master", "--headless", "--only-summary",
        "--expect-workers", "1", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "-t", f"{run_s}s", "--central", central, "--agents", "none", "--results-dir", str(results),
        "--arrival-rate", f"{rate:.3f}", "--user-rate", "0.5", "--media-share", "1" if media else "0",
        "--patience-s", str(hold_s), "--patience-dist", "fixed", "--callback-prob", "0",
        "--drain-s", str(hold_s + 20), "--seed", "11",
    ]  # fmt: skip
    worker = [sys.executable, "-m", "locust", *common, "--worker", "--master-host", "127.0.0.1",
              "--master-port", str(port)]  # fmt: skip
    results.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(results / "master.log", "wb") as mlog, open(results / "worker.log", "wb") as wlog:
        master_proc = subprocess.Popen(master, cwd=ROOT, stdout=mlog, stderr=subprocess.STDOUT)
        worker_proc = subprocess.Popen(worker, cwd=ROOT, stdout=wlog, stderr=subprocess.STDOUT)
        try:
            master_proc.wait(timeout=run_s + hold_s + 120)
            worker_proc.wait(timeout=30)
        finally:
            for proc in (master_proc, worker_proc):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    report = json.loads((results / "report.json").read_text())
    calls = report["calls"]
    gen: dict[str, Any] = next(iter(report["generators"].values()), {})
    at_load = [cpu for live, cpu in gen.get("cpu_at_load", []) if live >= REACHED * n]
    cpu_steady = round(sum(at_load) / len(at_load), 3) if at_load else None
    checks = {
        "no_failed_calls": calls["failed"] == 0 and calls["ended_by_site"] == 0,
        "reached_concurrency": (gen.get("calls_in_flight_peak") or 0) >= REACHED * n,
        "cpu_at_load": cpu_steady is not None and cpu_steady <= CPU_MEAN_MAX,
        "cpu_peak": gen.get("cpu_max") is not None and gen["cpu_max"] <= CPU_PEAK_MAX,
        "loop_lag": gen.get("loop_lag_p99_ms") is not None and gen["loop_lag_p99_ms"] <= LAG_P99_MAX_MS,
    }
    if media:
        checks["audio_received"] = (calls.get("media_audio_frames_min") or 0) > 0
    step = {
        "mode": "media" if media else "signalling",
        "target_concurrent": n,
        "arrival_rate_cps": round(rate, 3),
        "wall_s": round(time.monotonic() - started, 1),
        "placed": calls["placed"],
        "failed": calls["failed"],
        "failed_by_reason": calls["failed_by_reason"],
        "ended_by_site": calls["ended_by_site"],
        "cpu_at_load": cpu_steady,
        "generator": {k: v for k, v in gen.items() if k != "cpu_at_load"},
        "checks": checks,
        "passed": all(checks.values()) and master_proc.returncode == 0,
    }
    print(json.dumps(step), flush=True)
    return step


def climb(cluster: LocalCluster, out: Path, *, media: bool, levels: list[int], hold_s: float) -> tuple[int, list[Any]]:
    best, steps = 0, []
    for n in levels:
        step = run_step(cluster, out, media=media, n=n, hold_s=hold_s)
        steps.append(step)
        if not step["passed"]:
            break
        best = n
    return best, steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True, help="where to write the figures")
    parser.add_argument("--signalling", default="250,500,750,1000", help="concurrent callers per step")
    parser.add_argument("--media", default="10,20,30,40", help="concurrent media calls per step")
    parser.add_argument("--hold-s", type=float, default=20.0, help="how long each caller waits in queue")
    parser.add_argument("--quick", action="store_true", help="only the target steps (500 and 20)")
    parser.add_argument("--keep", default="", help="keep the cluster logs and Locust results here")
    args = parser.parse_args(argv)
    signalling = [500] if args.quick else [int(x) for x in args.signalling.split(",") if x.strip()]
    media = [20] if args.quick else [int(x) for x in args.media.split(",") if x.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        cluster = BenchCluster(base / "cluster", base_port=0, sites=3, centrals=1)
        try:
            cluster.start()
            centrals = [p.url for p in cluster.procs if p.role == "central"]
            print(f"warm-up reached {sorted(asyncio.run(warm_up(centrals, 3)))}", flush=True)
            best_sig, sig_steps = climb(cluster, base / "runs", media=False, levels=signalling, hold_s=args.hold_s)
            best_media, media_steps = climb(cluster, base / "runs", media=True, levels=media, hold_s=args.hold_s)
        finally:
            cluster.stop()
    figures = {
        "signalling_users_per_worker": best_sig,
        "media_calls_per_worker": best_media,
        "criteria": {
            "cpu_mean_max": CPU_MEAN_MAX,
            "cpu_peak_max": CPU_PEAK_MAX,
            "loop_lag_p99_max_ms": LAG_P99_MAX_MS,
            "reached_share": REACHED,
            "hold_s": args.hold_s,
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "steps": sig_steps + media_steps,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: figures[k] for k in ("signalling_users_per_worker", "media_calls_per_worker")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
