"""Leader failover benchmark: SIGKILL the central leader, time until a watcher sees a new one.

    python -m loadtests.bench_election --json PATH [--quick] [--trials N] [--ttl 2]

Runs real `callcenter central` processes against a real etcd started for the run. Each trial
kills the current leader with SIGKILL and measures, through an etcd watch on the election
prefix (not through any process's own belief), the time until another candidate leads; the
killed replica is restarted so there are always standby candidates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import uvloop

from cluster.election import Election
from cluster.etcd import Etcd, Session
from cluster.etcd_server import EtcdCluster, free_port
from cluster.keys import Keyspace


def _start_central(name: str, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    with open(log_dir / f"{name}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cluster.cli", "central", "--name", name, "--port", str(free_port())],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


async def run(trials: int, ttl_s: int, replicas: int) -> dict[str, float | int]:
    base = Path(tempfile.mkdtemp(prefix="cc-bench-election-"))
    etcd_server = EtcdCluster(base / "etcd").start()
    keys = Keyspace("/bench")
    env = dict(os.environ, CC_ETCD__ENDPOINTS=",".join(etcd_server.endpoints), CC_ETCD__PREFIX=keys.prefix,
               CC_ETCD__LEASE_TTL_S=str(ttl_s), CC_LOG_LEVEL="WARNING",
               CC_TOKENS__SECRET=os.environ.get("CC_TOKENS__SECRET") or secrets.token_urlsafe(48))
    procs = {f"central-{i + 1}": _start_central(f"central-{i + 1}", env, base) for i in range(replicas)}
    etcd = await Etcd.connect(etcd_server.endpoints)
    observer = Election(etcd, Session(etcd, ttl_s), keys.election("central"))
    current: list[str | None] = [None]
    changed = asyncio.Event()

    async def watch() -> None:
        async for leader in observer.observe():
            current[0] = None if leader is None else json.loads(leader.value)["name"]
            changed.set()

    watcher = asyncio.create_task(watch())
    samples: list[float] = []
    try:
        while current[0] is None:
            await asyncio.wait_for(changed.wait(), 60)
            changed.clear()
        for trial in range(trials):
            await asyncio.sleep(1.0)  # let the restarted replica campaign again
            old = current[0]
            assert old is not None
            killed_at = time.monotonic()
            procs[old].send_signal(signal.SIGKILL)
            procs[old].wait()
            while current[0] in (None, old):
                changed.clear()
                await asyncio.wait_for(changed.wait(), ttl_s + 10)
            took_ms = (time.monotonic() - killed_at) * 1000
            samples.append(took_ms)
            print(f"trial {trial + 1}/{trials}: {old} killed -> {current[0]} leads after {took_ms:.0f} ms", flush=True)
            procs[old] = _start_central(old, env, base)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await etcd.close()
        for proc in procs.values():
            proc.kill()
            proc.wait()
        etcd_server.stop()
    return {
        "trials": len(samples),
        "failover_ms_p50": round(float(np.percentile(samples, 50)), 1),
        "failover_ms_p99": round(float(np.percentile(samples, 99)), 1),
        "ttl_s": ttl_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", dest="json_path", required=True, help="where to write the figures")
    parser.add_argument("--quick", action="store_true", help="10 trials (the minimum) instead of 30")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--ttl", type=int, default=2, help="lease TTL in seconds")
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args()
    trials = args.trials or (10 if args.quick else 30)
    result = uvloop.run(run(max(trials, 10), args.ttl, args.replicas))
    print(json.dumps(result))
    Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n")
    target = (args.ttl + 1) * 1000
    print(f"target p99 <= {target} ms: {'met' if result['failover_ms_p99'] <= target else 'MISSED'}")


if __name__ == "__main__":
    main()
