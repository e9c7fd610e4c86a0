"""Site failover benchmark: calls at a site (talking and queued), SIGKILL the site, and time
until each call and agent is back at another site; then the same with the death-confirming
probe off (the lease-only path, as ``baseline_*``), and a SIGSTOP of a site (a pause is not a
death: no failover before its lease expires).

    python -m loadtests.bench_failover --json PATH [--quick] [--calls 20] [--talking 4]

Real processes (etcd, 2 centrals, 2 sites with a 2 s lease), real customers and agents with
WebRTC media (the Python client). Every time is measured from the signal:

* ``talking_audio_back_ms``: both ends of a talking call hear each other's tone again (the
  first 60 ms window dominated by it) at the backup site;
* ``agents_reattached_ms``: the agent's desk joined and its softphone connected at the backup;
* ``queued_requeued_ms``: a queued caller is back in the queue there (its ``queued`` event and
  its media), and ``requeued_in_order`` says the queue kept the original order;
* ``reconnect_ms``: from the moment each customer noticed the loss (as before);
* ``paused_failover_ms``: SIGSTOP -> the last call moved; ``paused_lease_expired_ms``: SIGSTOP
  -> the site's membership key went. ``false_failovers``: calls moved away from the paused
  site before its lease expired, plus deaths central confirmed for it (both must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import uvloop

from cluster.launcher import LocalCluster, Proc
from loadtests.failover_probes import (
    EtcdTap,
    cpu_s,
    death_info,
    first_event_at,
    first_heard,
    last_position,
    probe_counts,
)
from webrtc_client.client import AgentClient, CustomerClient

CALLER_HZ, AGENT_HZ = 440.0, 660.0


def p(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


async def _setup(cluster: LocalCluster, calls: int, talking: int) -> tuple[list[CustomerClient], list[AgentClient]]:
    centrals = [p.url for p in cluster.procs if p.role == "central"]
    north = _proc(cluster, "branch-north")
    agents: list[AgentClient] = []
    for n in range(1, 11):
        if len(agents) == talking:
            break
        agent = AgentClient(north.url, f"north-{n:02d}", "demo", central_urls=centrals, tone_hz=AGENT_HZ)
        joined = await agent.login()
        if "credit_card" in joined["agent"]["skills"]:
            agents.append(agent)
        else:
            await agent.close()
    for agent in agents:
        await agent.ready()
    await asyncio.sleep(2.5)  # the load summary (agents ready) reaches central
    customers: list[CustomerClient] = []
    for i in range(calls):
        customer = CustomerClient(centrals, caller=f"+8613{i:09d}", dialled="95589", tone_hz=CALLER_HZ)
        await customer.call()
        await customer.press("0", how="datachannel")
        customers.append(customer)
    for agent in agents:
        ring = await agent.wait_ringing(60)
        await agent.answer(ring["call_id"])
    await asyncio.sleep(2.5)  # queued calls' state reaches etcd, the load summary central
    sites = {c.site for c in customers}
    if sites != {"branch-north"}:
        raise RuntimeError(f"calls were not all at branch-north: {sites}")
    return customers, agents


def _proc(cluster: LocalCluster, name: str) -> Proc:
    return next(p for p in cluster.procs if p.name == name)


def _centrals(cluster: LocalCluster) -> list[str]:
    return [p.url for p in cluster.procs if p.role == "central"]


async def _back(client: CustomerClient | AgentClient, killed_at: float, hear_hz: float | None,
                deadline: float) -> float | None:
    """ms from the signal until ``client`` re-attached (and, with ``hear_hz``, hears it)."""
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            await client.reattached.wait()
    except TimeoutError:
        return None
    back = time.monotonic()
    if hear_hz is not None:
        assert client.phone is not None
        heard = await first_heard(client.phone.receiver, hear_hz, timeout_s=max(0.0, deadline - back))
        if heard is None:
            return None
        back = heard
    return (back - killed_at) * 1000


async def _kill(cluster: LocalCluster, calls: int, talking: int) -> dict[str, Any]:
    customers, agents = await _setup(cluster, calls, talking)
    assert cluster.etcd is not None
    tap = await EtcdTap(cluster.etcd.endpoints).start()
    try:
        south = _proc(cluster, "branch-south").process
        south_pid = None if south is None else south.pid
        cpu_before = (cpu_s(), cpu_s(south_pid))
        killed_at = time.monotonic()
        _proc(cluster, "branch-north").signal(signal.SIGKILL)
        deadline = killed_at + 30
        talkers = customers[: len(agents)]
        queued = customers[len(agents):]
        heard = await asyncio.gather(
            *(_back(c, killed_at, AGENT_HZ, deadline) for c in talkers),
            *(_back(a, killed_at, CALLER_HZ, deadline) for a in agents),
            *(_back(a, killed_at, None, deadline) for a in agents),
            *(_back(c, killed_at, None, deadline) for c in queued),
        )
        n = len(agents)
        caller_hears, agent_hears, agent_back = heard[:n], heard[n:2 * n], heard[2 * n:3 * n]
        queued_media = heard[3 * n:]
        window_s = time.monotonic() - killed_at
        cpu = {"window_ms": round(window_s * 1000), "bench_cpu_ms": round((cpu_s() - cpu_before[0]) * 1000),
               "backup_site_cpu_ms": round((cpu_s(south_pid) - cpu_before[1]) * 1000)}
        audio_back = [max(a, b) for a, b in zip(caller_hears, agent_hears, strict=True)
                      if a is not None and b is not None]
        requeued = []
        for client, media_ms in zip(queued, queued_media, strict=True):
            at = first_event_at(client.sig, "queued")  # the new site's socket: re-queued there
            if media_ms is not None and at is not None:
                requeued.append(max(media_ms, (at - killed_at) * 1000))
        positions = await _settled_positions(queued)
        in_order = all(a is not None and b is not None and a < b for a, b in itertools.pairwise(positions))
        gone, death = tap.site_gone("branch-north"), tap.death("branch-north")
        moves = tap.moves_from("branch-north")
        probes = await probe_counts(_centrals(cluster))
    finally:
        await tap.stop()
    reconnect_ms = [c.reconnects[0] * 1000 for c in customers if c.reconnects]
    steps = _steps([*customers, *agents], killed_at)
    await asyncio.gather(*(one.close() for one in [*customers, *agents]))
    return {
        "calls": calls,
        "talking": len(agents),
        "reconnect_ms_p50": p(reconnect_ms, 50),
        "reconnect_ms_p99": p(reconnect_ms, 99),
        "talking_audio_back_ms_p50": p(audio_back, 50),
        "talking_audio_back_ms_p99": p(audio_back, 99),
        "agents_reattached_ms_p99": p([x for x in agent_back if x is not None], 99),
        "queued_requeued_ms_p50": p(requeued, 50),
        "queued_requeued_ms_p99": p(requeued, 99),
        "requeued_in_order": in_order,
        "requeued_positions": positions,
        "lost": sum(1 for c in customers if not c.reconnects) + (len(audio_back) < len(agents)),
        "membership_ended_ms": None if gone is None else round((gone.at - killed_at) * 1000, 1),
        "confirmed_by_probe": death is not None and gone is not None and death.revision == gone.revision,
        "moves_after_confirmation": death is not None and all(s.revision > death.revision for s, _ in moves),
        "probe_outcomes": probes,
        "death": death_info(death),
        "reattach_steps_ms_p50": steps,
        "cpu_during_failover": cpu,
    }


async def _settled_positions(queued: list[CustomerClient], timeout_s: float = 8.0) -> list[int | None]:
    """The queue positions last announced to the re-queued callers, once they are 1..n (the
    site re-announces a changed position every 2 s), or as they are when ``timeout_s`` ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        positions = [last_position(c.sig) for c in queued]
        if sorted(x or 0 for x in positions) == list(range(1, len(queued) + 1)) or loop.time() > deadline:
            return positions
        await asyncio.sleep(0.1)


def _steps(clients: list[Any], since: float) -> dict[str, float | None]:
    """Median ms from the signal to each step of the clients' re-attach (where the time goes)."""
    names = ("lost", "located", "joined", "media")
    return {n: p([(c.reattach_steps[n] - since) * 1000 for c in clients if n in c.reattach_steps], 50)
            for n in names} | {"failed_attempts": float(sum(
                sum(1 for k in c.reattach_steps if k.startswith("failed")) for c in clients))}


async def _nag(customers: list[CustomerClient], centrals: list[str], stop: asyncio.Event) -> None:
    """Clients that noticed a stall and ask central where their call is (each request waits)."""
    async with aiohttp.ClientSession() as http:
        async def ask(c: CustomerClient) -> None:
            while not stop.is_set():
                url = f"{centrals[0]}/v1/calls/{c.call_id}/reconnect"
                try:
                    async with http.post(url, json={"token": c.token}, timeout=aiohttp.ClientTimeout(total=5)) as r:
                        await r.read()
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.3)

        await asyncio.gather(*(ask(c) for c in customers))


async def _pause(cluster: LocalCluster, calls: int, talking: int) -> dict[str, Any]:
    customers, agents = await _setup(cluster, calls, talking)
    assert cluster.etcd is not None
    tap = await EtcdTap(cluster.etcd.endpoints).start()
    north = _proc(cluster, "branch-north")
    stop = asyncio.Event()
    try:
        paused_at = time.monotonic()
        north.signal(signal.SIGSTOP)
        nag = asyncio.create_task(_nag(customers, _centrals(cluster), stop))
        ids = {c.call_id for c in customers}
        deadline = paused_at + 20
        while time.monotonic() < deadline:
            if {r.call_id for _, r in tap.moves_from("branch-north")} >= ids:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(nag, 10)
        gone, death = tap.site_gone("branch-north"), tap.death("branch-north")
        moves = tap.moves_from("branch-north")
        probes = await probe_counts(_centrals(cluster))
    finally:
        north.signal(signal.SIGCONT)
        await tap.stop()
    early = [r.call_id for s, r in moves if gone is None or s.revision < gone.revision]
    last_move = max((s.at for s, _ in moves), default=None)
    await asyncio.gather(*(one.close() for one in [*customers, *agents]))
    return {
        "paused_calls": calls,
        "paused_failover_ms": None if last_move is None else round((last_move - paused_at) * 1000, 1),
        "paused_lease_expired_ms": None if gone is None else round((gone.at - paused_at) * 1000, 1),
        "paused_calls_moved": len({r.call_id for _, r in moves}),
        "paused_probe_outcomes": probes,
        "false_failovers": len(early) + (death is not None),
    }


def _cluster(extra: dict[str, str]) -> LocalCluster:
    base = Path(tempfile.mkdtemp(prefix="cc-bench-failover-"))
    return LocalCluster(base, sites=2, centrals=2, base_port=0, extra_env={"CC_LOG_LEVEL": "WARNING", **extra})


def _in_cluster(extra: dict[str, str], scenario: Any, *args: int) -> dict[str, Any]:
    cluster = _cluster(extra)
    cluster.start()
    try:
        result: dict[str, Any] = uvloop.run(scenario(cluster, *args))
        result["lease_ttl_s"] = cluster.lease_ttl_s
        return result
    finally:
        cluster.stop()


def run(calls: int, talking: int, *, baseline: bool = True, pause: bool = True) -> dict[str, Any]:
    result = _in_cluster({}, _kill, calls, talking)
    if baseline:
        lease_only = _in_cluster({"CC_CENTRAL__FAILOVER__PROBE": "false"}, _kill, calls, talking)
        for key in ("reconnect_ms_p99", "talking_audio_back_ms_p99", "agents_reattached_ms_p99",
                    "queued_requeued_ms_p99", "membership_ended_ms", "lost"):
            result[f"baseline_{key}"] = lease_only[key]
    if pause:
        result.update(_in_cluster({}, _pause, max(3, calls // 4), 1))
    return result


def targets_met(result: dict[str, Any]) -> dict[str, bool]:
    lease_ms = result["lease_ttl_s"] * 1000
    checks = {
        "lost 0": result["lost"] == 0,
        "talking audio back p99 <= 1000 ms": (result["talking_audio_back_ms_p99"] or 1e9) <= 1000,
        "agents re-attached p99 <= 1500 ms": (result["agents_reattached_ms_p99"] or 1e9) <= 1500,
        "queued re-queued p99 <= 1000 ms, in order": (result["queued_requeued_ms_p99"] or 1e9) <= 1000
        and result["requeued_in_order"],
    }
    if "false_failovers" in result:
        checks["paused: failover <= lease + 1 s, none before the lease"] = (
            (result["paused_failover_ms"] or 1e9) <= lease_ms + 1000 and result["false_failovers"] == 0)
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", dest="json_path", required=True)
    parser.add_argument("--quick", action="store_true", help="8 calls (2 talking) instead of 20 (4 talking)")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--talking", type=int, default=None)
    parser.add_argument("--no-baseline", action="store_true", help="skip the lease-only run")
    parser.add_argument("--no-pause", action="store_true", help="skip the SIGSTOP run")
    args = parser.parse_args()
    calls = args.calls or (8 if args.quick else 20)
    talking = args.talking or (2 if args.quick else 4)
    result = run(calls, talking, baseline=not args.no_baseline, pause=not args.no_pause)
    print(json.dumps(result))
    Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n")
    for name, ok in targets_met(result).items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
