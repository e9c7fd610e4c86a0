"""SIP trunk benchmark (issue 15): call rate through Kamailio, SIP<->WebRTC calls per core,
failover of SIP callers.

    python -m loadtests.bench_sip --json PATH [--quick]

Everything runs on this machine (real processes: etcd, central, two sites, Kamailio, one SIP
edge; SIPp as the carrier's load):

* ``sip_cps_accepted``: SIPp (``loadtests/sip/uac_bench.xml``: a distinct caller per call,
  INVITE -> 200 -> ACK, 1 s in the IVR, BYE) at growing rates through Kamailio; the best rate
  of INVITEs answered 200 per second with < 1 % failed calls (anything but 200 fails).
* ``sip_calls_per_core``: SIP (RTP, PCMU) callers bridged to WebRTC (PCMU) agents in one
  media switch on one core, < 1 % late or lost frames (:mod:`loadtests.sip.bench_calls`, a
  simplified measurement: the switch alone, the edge's relay not counted; the largest passing
  N extrapolated by the switch's core share, as bench_media does).
* ``sip_failover_ms_p99``: Python phones (:class:`loadtests.sip.phone.SipPhone`) talking to
  agents at branch-north; north is SIGKILLed; from the kill until each phone hears its agent's
  660 Hz again (the agent re-attached at branch-south, the edge re-joined and re-offered RTP).
* ``sip_lost``: phones in that run that never hear their agent again or get a BYE/re-INVITE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import uvloop

from cluster.launcher import LocalCluster
from loadtests.sip.bench_calls import capacity
from loadtests.sip.dev_entry_points import sip_entry_points
from loadtests.sip.phone import SipPhone
from webrtc_client.audio import hears
from webrtc_client.client import AgentClient

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- calls per second
def sipp_step(trunk: tuple[str, int], rate: int, seconds: float, workdir: Path) -> dict[str, Any]:
    calls = int(rate * seconds)
    args = ["sipp", "-sf", str(ROOT / "loadtests" / "sip" / "uac_bench.xml"), "-s", "95589", "-r", str(rate),
            "-m", str(calls), "-d", "1000", "-l", str(rate * 4), "-i", "127.0.0.1", "-p", "0", "-mp", "0",
            "-nostdin", "-timeout", f"{int(seconds) + 40}s", "-timeout_error", f"{trunk[0]}:{trunk[1]}"]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(args, cwd=workdir, capture_output=True, text=True, timeout=seconds + 90)
    wall = time.monotonic() - started
    out = proc.stdout + proc.stderr

    def cumulative(name: str) -> int:
        found = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", out)
        return int(found[-1]) if found else 0

    ok, failed = cumulative("Successful call"), cumulative("Failed call")
    send_s = calls / rate
    result = {"rate": rate, "calls": calls, "successful": ok, "failed": failed, "wall_s": round(wall, 1),
              "accepted_cps": round(ok / send_s, 1), "failure_ratio": round(failed / max(1, calls), 4)}  # fmt: skip
    print(f"  SIPp {rate} cps x {seconds:.0f} s: {ok} ok, {failed} failed", file=sys.stderr, flush=True)
    return result


def cps(cluster: LocalCluster, rates: list[int], seconds: float) -> tuple[float, list[dict[str, Any]]]:
    assert cluster.sip_address is not None
    best, steps = 0.0, []
    for rate in rates:
        step = sipp_step(cluster.sip_address, rate, seconds, cluster.base_dir)
        steps.append(step)
        if step["failure_ratio"] >= 0.01 or step["successful"] == 0:
            break
        best = max(best, step["accepted_cps"])
        time.sleep(3.0)  # the calls of the step end (1 s hold) and their CDRs are written
    return best, steps


# ---------------------------------------------------------------- failover
async def _talking(cluster: LocalCluster, n: int) -> list[tuple[SipPhone, AgentClient]]:
    from tests.e2e.helpers import centrals, wait_published

    north = next(p for p in cluster.procs if p.name == "branch-north")
    assert cluster.sip_address is not None
    pairs: list[tuple[SipPhone, AgentClient]] = []
    for i in range(1, 11):
        if len(pairs) == n:
            break
        agent = AgentClient(north.url, f"north-{i:02d}", "demo", central_urls=centrals(cluster), tone_hz=660.0)
        joined = await agent.login()
        if "credit_card" not in joined["agent"]["skills"]:
            await agent.close()
            continue
        await agent.ready()
        await wait_published(cluster, "branch-north", "credit_card", ready=1)
        phone = await SipPhone(cluster.sip_address, caller=f"+86137{i:08d}", tone_hz=440.0).open()
        if await phone.call("95589") != 200:
            raise RuntimeError("a failover call was not answered")
        await asyncio.sleep(1.0)
        phone.press("0")
        ring = await agent.wait_ringing(30)
        await agent.answer(ring["call_id"])
        assert agent.phone is not None
        if not (await hears(agent.phone.receiver, 440.0) and await hears(phone.receiver, 660.0)):
            raise RuntimeError("a failover call's caller and agent do not hear each other")
        pairs.append((phone, agent))
    return pairs


async def failover(cluster: LocalCluster, n: int) -> dict[str, Any]:
    pairs = await _talking(cluster, n)
    await asyncio.sleep(2.0)  # the calls' state reaches etcd
    north = next(p for p in cluster.procs if p.name == "branch-north")
    for phone, _ in pairs:
        phone.receiver.clear()
    killed = time.monotonic()
    north.signal(signal.SIGKILL)

    async def back(phone: SipPhone) -> float | None:
        if await hears(phone.receiver, 660.0, timeout=30.0):
            return (time.monotonic() - killed) * 1000
        return None

    times = await asyncio.gather(*(back(phone) for phone, _ in pairs))
    lost = sum(1 for t, (phone, _) in zip(times, pairs, strict=True) if t is None or phone.requests)
    for phone, agent in pairs:
        await phone.hangup()
        await phone.close()
        await agent.close()
    measured = [t for t in times if t is not None]
    return {"calls": len(pairs), "lost": lost, "ms": [round(t) for t in measured],
            "p99": round(float(np.percentile(measured, 99))) if measured else None}  # fmt: skip


# ---------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True, help="where to write the results")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps (~2 min)")
    args = parser.parse_args(argv)
    if args.quick:
        media_steps, media_s, rates, rate_s, talking = [10, 20, 40], 2.0, [20, 50, 100], 4.0, 3
    else:
        media_steps, media_s = [10, 20, 40, 60, 80, 100, 130, 160], 4.0
        rates, rate_s, talking = [25, 50, 75, 100, 125, 150, 200], 8.0, 6
    load_before = os.getloadavg()
    media = capacity(media_steps, media_s)
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as tmp:
        base = Path(tmp)
        cluster = LocalCluster(base, base_port=0, sites=2, centrals=1, sip_edges=1, extra_env=sip_entry_points(base))
        cluster.start()
        try:
            best_cps, cps_steps = cps(cluster, rates, rate_s)
            fo = uvloop.run(failover(cluster, talking))
        finally:
            cluster.stop()
    result = {
        "sip_cps_accepted": best_cps,
        "sip_calls_per_core": media["extrapolated_per_core"],
        "sip_failover_ms_p99": fo["p99"],
        "sip_lost": fo["lost"],
        "details": {
            "cps_steps": cps_steps,
            "calls_per_core": media,
            "failover": fo,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "method": "calls per core: one media switch pinned to one core, SIP (RTP PCMU) callers bridged to "
                      "WebRTC (PCMU) agents, largest N with <1% late/lost frames extrapolated by the switch's "
                      "core share (the edge's relay and the site's signalling not counted)",
        },
        "quick": args.quick,
    }
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "details"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
