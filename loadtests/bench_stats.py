"""Benchmark of the statistics job: Ray on 2 CPUs versus one pandas process, same data.

    python -m loadtests.bench_stats --json results/bench_stats.json [--quick]

10 million synthetic call records (``--quick``: 1 million) across 10 sites are generated once
with numpy and cached as per-site, per-day ``.npz`` partitions under the temp directory; both
paths read them through :class:`central.stats.sources.PartitionCacheSource` and the same
partial-aggregate code. Then a two-node local Ray cluster (``ray.cluster_utils.Cluster``), each
node advertising ``site:<name>`` resources for half of the sites, runs the job on two days of
data to show each site's tasks placed on its node. Writes
``{"records", "ray_s", "pandas_s", "ratio", "nodes_used", ...}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from central.stats.db import READ_COLUMNS
from central.stats.job import run_local, run_ray
from central.stats.params import KpiParams
from central.stats.sources import CallSource, PartitionCacheSource, save_partition
from central.stats.synthetic import synthetic_calls

SITES = [f"branch{i:02d}" for i in range(10)]
FIRST_DAY = 20_000  # 2024-10-04
STORE_BYTES = 2 * 1024 * 1024 * 1024  # per-site KPI columns of 10 M records: ~1.2 GB


def _shape(quick: bool) -> tuple[int, int]:
    """(days, calls per site and day)."""
    return (5, 20_000) if quick else (20, 50_000)


def build_cache(root: Path, quick: bool, log: Any) -> dict[str, CallSource]:
    days, per_day = _shape(quick)
    done = root / "complete"
    if not done.exists():
        t0 = time.perf_counter()
        for i, site in enumerate(SITES):
            df = synthetic_calls(site, FIRST_DAY, days, per_day, seed=1000 + i,
                                 malformed_rate=0.0001)
            df = df[list(READ_COLUMNS)]
            day_no = (df["arrival_at"] // 86_400).astype(int)
            for d in range(FIRST_DAY, FIRST_DAY + days):
                save_partition(root / site, dt.date(1970, 1, 1) + dt.timedelta(days=d),
                               df[day_no == d])
            log(f"generated {site}: {len(df):,} records")
        done.write_text("ok")
        log(f"cache built in {time.perf_counter() - t0:.1f} s at {root}")
    return {site: PartitionCacheSource(str(root / site)) for site in SITES}


def two_node_cluster(sources: dict[str, CallSource], params: KpiParams,
                     log: Any) -> dict[str, Any]:
    import ray
    from ray.cluster_utils import Cluster

    half = len(SITES) // 2
    head_res = {f"site:{s}": 1.0 for s in SITES[:half]}
    other_res = {f"site:{s}": 1.0 for s in SITES[half:]}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": head_res,
                        "object_store_memory": STORE_BYTES, "include_dashboard": False},
    )
    try:
        cluster.add_node(num_cpus=1, resources=other_res, object_store_memory=STORE_BYTES)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        first = dt.date(1970, 1, 1) + dt.timedelta(days=FIRST_DAY)
        t0 = time.perf_counter()
        result = run_ray(sources, first, first + dt.timedelta(days=1), params)
        seconds = time.perf_counter() - t0
        per_site = {s: sorted(n[:8] for n in nodes) for s, nodes in result.placement.items()}
        log(f"two-node cluster: {len(result.nodes)} node(s); site -> node: {per_site}")
        home = {s: next(iter(n)) for s, n in result.placement.items() if len(n) == 1}
        pinned = (
            len(home) == len(SITES)
            and len({home[s] for s in SITES[:half]}) == 1
            and len({home[s] for s in SITES[half:]}) == 1
            and home[SITES[0]] != home[SITES[-1]]
        )
        return {"nodes_used": len(result.nodes), "cluster_s": round(seconds, 3),
                "cluster_records": sum(result.rows.values()), "sites_pinned_to_nodes": pinned}
    finally:
        ray.shutdown()
        cluster.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--quick", action="store_true", help="~1 M records instead of 10 M")
    parser.add_argument("--cache", type=Path, default=None, help="partition cache directory")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    days, per_day = _shape(args.quick)
    root = args.cache or Path(tempfile.gettempdir()) / f"callcenter-bench-stats-{days}x{per_day}"
    sources = build_cache(root, args.quick, log)
    params = KpiParams()

    t0 = time.perf_counter()
    local = run_local(sources, params=params)
    pandas_s = time.perf_counter() - t0
    records = sum(local.rows.values())
    log(f"pandas, one process: {records:,} records in {pandas_s:.2f} s")

    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=STORE_BYTES,
             log_to_driver=False)
    init_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        on_ray = run_ray(sources, params=params)
        ray_s = time.perf_counter() - t0
    finally:
        ray.shutdown()
    log(f"ray, 2 CPUs: {on_ray.tasks} tasks in {ray_s:.2f} s (ray.init {init_s:.1f} s)")
    pd.testing.assert_frame_equal(on_ray.kpis, local.kpis)
    assert on_ray.malformed == local.malformed
    log("ray result == pandas result")

    cluster = two_node_cluster(sources, params, log)
    figures = {
        "records": records,
        "ray_s": round(ray_s, 3),
        "pandas_s": round(pandas_s, 3),
        "ratio": round(ray_s / pandas_s, 3),
        "nodes_used": cluster["nodes_used"],
        "ray_init_s": round(init_s, 3),
        "ray_tasks": on_ray.tasks,
        "cpus": 2,
        "sites": len(SITES),
        "days": days,
        "kpi_rows": len(on_ray.kpis),
        "malformed": sum(sum(v.values()) for v in on_ray.malformed.values()),
        "equal": True,
        **{k: v for k, v in cluster.items() if k != "nodes_used"},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
