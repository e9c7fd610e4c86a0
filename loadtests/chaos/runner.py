"""The chaos run: a cluster of 3 etcd members, 3 central replicas and 3 sites, the Locust load
(real callers and agents) as a subprocess, a fault schedule, then the checker and the
bad-input suite. Where the machine allows it each site runs in its own network namespace, so a
site can really be cut off the network (:mod:`loadtests.chaos.netns`); otherwise everything
talks over loopback and a cut is a pause."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from cluster.callrecords import CallRecord
from cluster.etcd import Etcd
from cluster.keys import Keyspace
from cluster.launcher import LocalCluster, http_json
from cluster.tls import client_session
from loadtests.chaos import checker
from loadtests.chaos.badinput import run_suite
from loadtests.chaos.faults import FaultRecord, Injector, schedule
from loadtests.chaos.history import read_cdrs, read_history, read_outcomes
from loadtests.chaos.netns import create_namespaces, remove_namespaces

LEASE_TTL_S = 2
JOIN_TIMEOUT_S = 8


def _central_urls(cluster: LocalCluster) -> list[str]:
    return [p.url for p in cluster.procs if p.role == "central" and p.alive]


async def _recovered(cluster: LocalCluster) -> str | None:
    """None once every process answers, one central leads, no call sits at a dead site or in
    a move, and a new call can be routed; otherwise what is still being waited for."""
    down = [p.name for p in cluster.procs if not http_json(p.url + "/healthz")]
    if down:
        return f"not answering: {down}"
    if cluster.leader() is None:
        return "no central leader"
    assert cluster.etcd is not None
    etcd = await Etcd.connect(cluster.etcd.endpoints, timeout_s=5)
    try:
        kvs, _ = await etcd.get_prefix(Keyspace().calls)
        sites, _ = await etcd.get_prefix(Keyspace().sites)
    finally:
        await etcd.close()
    live = {Keyspace.leaf(kv.key) for kv in sites}
    records = [CallRecord.from_kv(kv) for kv in kvs]
    stuck = [f"{r.call_id[:8]}:{r.state}@{r.site}" for r in records
             if (r.site not in live or r.state == "moving") and not r.call_id.startswith("probe-")]
    if stuck:
        return f"calls not settled: {stuck[:5]}"
    async with client_session() as http:
        for url in _central_urls(cluster):
            try:
                body = {"caller": "+10000000000", "dialled": "95589", "request_id": f"probe-{time.time_ns()}"}
                async with http.post(url + "/v1/calls", json=body, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    return None if r.status == 201 else f"probe route answered {r.status}"
            except (aiohttp.ClientError, TimeoutError):
                continue
    return "no central answered the probe"


def _wait_recovered(cluster: LocalCluster, record: FaultRecord, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            waiting_for = asyncio.run(_recovered(cluster))
        except Exception as exc:  # etcd briefly without quorum, a process restarting
            waiting_for = f"probe error {type(exc).__name__}"
        if waiting_for is None:
            record.recovered_at = time.time()
            return
        record.notes["waiting_for"] = waiting_for
        time.sleep(0.25)


def _locust(cluster: LocalCluster, results: Path, seconds: int, rate: float, env: dict[str, str]
            ) -> subprocess.Popen[bytes]:
    args = [
        sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--headless", "-t", f"{seconds}s",
        "--central", ",".join(_central_urls(cluster)), "--arrival-rate", str(rate), "--media-share", "0.1",
        "--agents", "demo:2", "--patience-s", "120", "--handle-time-s", "8", "--wrap-up-s", "1",
        "--break-prob", "0", "--drain-s", "40", "--results-dir", str(results), "--loglevel", "WARNING",
    ]
    log = open(results / "locust.log", "wb")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).parents[2])


def run(short: bool, out_dir: Path | None = None, rate: float = 0.4, *, rolling: bool = False) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="cc-chaos-"))
    results = out_dir or base / "results"
    results.mkdir(parents=True, exist_ok=True)
    # a route capacity far above the load but below the bad-input flood, so the flood is throttled
    env = {"CC_SITE__JOIN_TIMEOUT_S": str(JOIN_TIMEOUT_S), "CC_LOG_LEVEL": "INFO",
           "CC_CENTRAL__ROUTE_CAPACITY_CPS": "100"}
    cluster = LocalCluster(base, sites=3, centrals=3, etcd_members=3, base_port=0, lease_ttl_s=LEASE_TTL_S,
                           extra_env=env)
    namespaces = create_namespaces(cluster.site_names())
    cluster.placements = {site: ns.placement for site, ns in (namespaces or {}).items()}
    try:
        cluster.start(timeout_s=120)
    except BaseException:
        cluster.stop()
        remove_namespaces(namespaces)
        raise
    faults: list[FaultRecord] = []
    kinds = schedule(short, rolling=rolling)
    warmup_s, gap_s = 20, 12
    load_s = int(warmup_s + len(kinds) * (gap_s + 15) + 10)
    started = time.time()
    locust = _locust(cluster, results, load_s, rate, {**os.environ, **env})
    try:
        time.sleep(warmup_s)
        injector = Injector(cluster, lease_ttl_s=LEASE_TTL_S, namespaces=namespaces)
        for kind in kinds:
            record = injector.apply(kind)
            _wait_recovered(cluster, record)
            faults.append(record)
            print(f"fault {record.kind} on {record.target}: recovered after "
                  f"{(record.recovered_at or float('nan')) - record.at:.1f} s", flush=True)
            time.sleep(gap_s)
        locust.wait(timeout=load_s + 180)
        time.sleep(JOIN_TIMEOUT_S + 4)  # callers who never joined get their CDR
        site_url = next(p.url for p in cluster.procs if p.role == "site")
        bad_input = asyncio.run(run_suite(_central_urls(cluster)[0], site_url, secret=cluster.secret))
        time.sleep(JOIN_TIMEOUT_S + 4)  # the flood's routed calls are closed too
        operator = cluster.operator_headers()
        statuses = {
            p.name: http_json(p.url + "/v1/status", headers=operator) or {} for p in cluster.procs if p.role == "site"
        }
        assert cluster.etcd is not None
        records, election, deaths = asyncio.run(read_history(cluster.etcd.endpoints, Keyspace()))
    finally:
        if locust.poll() is None:
            locust.kill()
        cluster.stop()
        remove_namespaces(namespaces)
    outcomes = read_outcomes(results)
    cdrs = read_cdrs(base / "data")
    return summarize(outcomes, cdrs, records, election, statuses, faults, bad_input, started,
                     results / "report.json", deaths=deaths)


def summarize(outcomes: list[dict[str, Any]], cdrs: dict[str, list[dict[str, Any]]], records: list[Any],
              election: list[Any], statuses: dict[str, dict[str, Any]], faults: list[FaultRecord],
              bad_input: dict[str, Any], started: float, locust_report: Path,
              deaths: list[Any] | None = None) -> dict[str, Any]:
    call_ids = {e.call_id for e in records if e.created} | {o["call_id"] for o in outcomes if o.get("call_id")}
    outcome_check = checker.final_outcomes(call_ids, cdrs)
    routing = checker.routing(records, election)
    windows = checker.service_level_windows(outcomes, threshold_s=20.0)
    fault_rows = []
    for fault in faults:
        recovery = None if fault.recovered_at is None else round(fault.recovered_at - fault.at, 2)
        fault_rows.append({**fault.to_dict(), "recovery_s": recovery, "sl_dip": checker.sl_dip(windows, fault.at)})
    reconnected = sum(1 for rows in cdrs.values() for r in rows
                      if (r.get("failovers") or 0) > 0 and r.get("end_reason") != "failed_over")
    recoveries = [f["recovery_s"] for f in fault_rows]
    load = json.loads(locust_report.read_text()) if locust_report.exists() else {}
    inversions = checker.queue_order(cdrs)
    two_agents = checker.one_agent_at_a_time(cdrs)
    inconsistent = checker.agents_consistent(statuses)
    false = checker.false_failovers(deaths or [], [f.to_dict() for f in faults])
    return {
        "calls": len(call_ids),
        "lost_calls": len(outcome_check["lost"]),
        "duplicated_outcomes": len(outcome_check["duplicated"]),
        "double_routed": len(routing["double_routed"]),
        "written_by_non_leader": len(routing["written_by_non_leader"]),
        "fencing_tokens_backwards": len(routing["tokens_backwards"]),
        "connected_to_two_agents": len(two_agents),
        "lost_queue_positions": len(inversions),
        "agents_inconsistent": len(inconsistent),
        "false_failovers": len(false),
        "deaths_confirmed_by_probe": len(deaths or []),
        "calls_reconnected": reconnected,
        "faults": len(faults),
        "worst_recovery_s": None if None in recoveries or not recoveries else max(recoveries),
        "sl_dip": max((f["sl_dip"] for f in fault_rows), default=0.0),
        "fault_details": fault_rows,
        "bad_input": bad_input,
        "load": load.get("calls", {}),  # the callers' own report (Locust)
        "examples": {"lost": outcome_check["lost"][:5], "duplicated": outcome_check["duplicated"][:5],
                     **{k: v[:5] for k, v in routing.items()},
                     "connected_to_two_agents": two_agents[:5], "agents_inconsistent": inconsistent[:5],
                     "false_failovers": false[:5],
                     "queue_inversions": [{"early": cdrs[a], "late": cdrs[b]} for a, b in inversions[:3]]},
        "duration_s": round(time.time() - started, 1),
    }


def passed(summary: dict[str, Any]) -> bool:
    zero = ("lost_calls", "duplicated_outcomes", "double_routed", "written_by_non_leader",
            "fencing_tokens_backwards", "connected_to_two_agents", "lost_queue_positions", "agents_inconsistent",
            "false_failovers")
    return (all(summary[k] == 0 for k in zero) and summary["worst_recovery_s"] is not None
            and not summary["bad_input"]["failures"])
