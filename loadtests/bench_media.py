"""Media switch benchmark: the product's path and its baselines, as ratios measured in one run.

    python -m loadtests.bench_media --json PATH [--quick]

Same process layout for every mode: the server in its own process pinned to one core, the
client peers in another (pinned to the other core); see :mod:`loadtests.media_servers` and
:mod:`loadtests.media_peers`. Modes, one after the other in the same run:

* ``PCMU`` and ``opus`` through the switch (packet path, payloads forwarded unchanged);
* the baseline: aiortc's own ``MediaRelay`` (decode + encode per leg), Opus;
* the ceiling: a raw UDP echo at the packet rate of the switch's largest passing PCMU step;
* (full runs) Opus through the switch's own decode/encode path (``force_transcode``).

For each mode, N calls grow while the step is driven (the clients got >= 90 % of the nominal
100 packets per call-second: a starved client process measures nothing) and the server keeps
up: under 1 % of frames lost, its core under 95 %. Capacity per core is
1000 / ``cpu_ms_per_call_second`` at the largest such step (CPU time from
``resource.getrusage`` in the server process per second of bridged call delivered), which
reads the same on a busy machine; ratios divide two such figures measured minutes apart in one run. Real
time is judged apart, because on a shared machine it mostly measures the neighbours: a step is
``realtime_ok`` with under 1 % of frames lost or late (> 60 ms); late frames, added delay
(client send -> client receive, through the server) and the server's event loop lag are
reported at the capacity step, with the machine's load average.

Point 4 (a site's scale): one more step runs the switch with 300 logged-in agents' softphones
(legs that send, outside any call) besides the calls, and reports its CPU and loop lag.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loadtests.media_peers import WARM_UP_S, client_main, echo_main
from loadtests.media_servers import server_main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server process did not start")


CLIENTS = 2  # client processes (on the client core): the load must outrun the server
_STEP_KEYS = ("agents", "client_processes", "transit_ms", "lag_ms", "client_lag_ms", "client_cpu", "counters")


@dataclass
class Step:
    calls: int
    result: dict[str, Any]

    @property
    def core_share(self) -> float:
        return float(self.result["server_cpu_s"]) / max(float(self.result["wall_s"]), 1e-9)

    @property
    def bad_ratio(self) -> float:
        r = self.result
        if "expected" in r:
            return (r["lost"] + r["late"]) / max(1, r["expected"])
        return max(0, r["sent"] - r["received"]) / max(1, r["sent"])

    @property
    def lost_ratio(self) -> float:
        r = self.result
        if "expected" in r:
            return r["lost"] / max(1, r["expected"])
        return max(0, r["sent"] - r["received"]) / max(1, r["sent"])

    @property
    def delivered(self) -> float:
        """Share of the nominal media (N calls x 100 packets/s) the clients got: below 90 % the
        client could not drive the step (a starved client process) and it measures nothing."""
        nominal = self.calls * 100 * float(self.result["wall_s"])
        return self.call_seconds * 100 / max(nominal, 1.0)

    @property
    def ok(self) -> bool:
        """The step was driven and the server kept up (what capacity is computed from)."""
        return self.delivered >= 0.9 and self.lost_ratio < 0.01 and self.core_share < 0.95

    @property
    def realtime_ok(self) -> bool:
        return self.ok and self.bad_ratio < 0.01

    @property
    def per_core(self) -> float:
        return 1000 / max(self.cpu_ms_per_call_second, 1e-6)

    @property
    def call_seconds(self) -> float:
        """Bridged call time the server delivered in its CPU window: 100 packets (2 legs x 50/s)
        per call-second. (Not N x wall time: a starved client sends less, the server works less.)"""
        return max(float(self.result["counters"]["delivered"]), 1.0) / 100

    @property
    def cpu_ms_per_call_second(self) -> float:
        return 1000 * float(self.result["server_cpu_s"]) / self.call_seconds


@dataclass
class Mode:
    name: str
    steps: list[Step] = field(default_factory=list)

    @property
    def best(self) -> Step | None:
        passing = [s for s in self.steps if s.ok]
        return passing[-1] if passing else None

    @property
    def per_core(self) -> float:
        return self.best.per_core if self.best else 0.0

    @property
    def realtime_calls(self) -> int:
        return max((s.calls for s in self.steps if s.realtime_ok), default=0)

    def summary(self) -> dict[str, Any]:
        return {
            "calls_per_core": round(self.per_core, 1),
            "largest_kept_up_step": self.best.calls if self.best else 0,
            "largest_realtime_ok_step": self.realtime_calls,
            "cpu_ms_per_call_second": round(self.best.cpu_ms_per_call_second, 3) if self.best else None,
            "steps": [
                {
                    "calls": s.calls,
                    "ok": s.ok,
                    "realtime_ok": s.realtime_ok,
                    "core_share": round(s.core_share, 3),
                    "delivered": round(s.delivered, 3),
                    "cpu_ms_per_call_second": round(s.cpu_ms_per_call_second, 3),
                    "lost_pct": round(100 * s.lost_ratio, 2),
                    "lost_or_late_pct": round(100 * s.bad_ratio, 2),
                    **{k: v for k, v in s.result.items() if k in _STEP_KEYS},
                }
                for s in self.steps
            ],
        }


def _cpu(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/cpu", timeout=60) as r:
        return dict(json.load(r))


def _reset(port: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/reset", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=120) as r:
        r.read()


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_clients(
    port: int, calls: int, codec: str, seconds: float, tagged: bool, agents: int, processes: int = CLIENTS
) -> dict[str, Any]:
    """``calls`` (and ``agents``) spread over client processes that run their media on one
    schedule; the server's CPU and loop lag are read here, around the common measured window."""
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Queue(), ctx.Queue(), ctx.Queue()
    shares = [(c, a) for c, a in zip(_split(calls, processes), _split(agents, processes), strict=True) if c or a]
    procs = [
        ctx.Process(target=client_main, args=(port, c, codec, seconds, tagged, a, ready, go, out)) for c, a in shares
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=600)
        start = time.time() + 0.5
        for _ in procs:
            go.put(start)
        time.sleep(max(0.0, start + WARM_UP_S - time.time()))
        cpu0 = _cpu(port)
        time.sleep(max(0.0, start + WARM_UP_S + seconds - time.time()))
        cpu1 = _cpu(port)
        parts = [out.get(timeout=300) for _ in procs]
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
    _reset(port)
    transits = np.concatenate([np.frombuffer(p["transits"], np.float32) for p in parts])
    lags = [p["client_lag_ms"] for p in parts if p["client_lag_ms"]]
    return {
        "calls": calls,
        "agents": agents,
        "client_processes": len(procs),
        **{k: sum(p[k] for p in parts) for k in ("expected", "received", "lost", "late", "client_cpu")},
        "server_cpu_s": cpu1["cpu"] - cpu0["cpu"],
        "wall_s": cpu1["wall"] - cpu0["wall"],
        "transit_ms": [round(float(np.percentile(transits, q)) * 1000, 2) for q in (50, 95, 99)]
        if transits.size
        else [],
        "lag_ms": cpu1["lag_ms"],
        "client_lag_ms": {"p99_worst": max((lag["p99"] for lag in lags), default=None)},
        "counters": {k: cpu1[k] - cpu0[k] for k in cpu1 if k not in ("cpu", "wall", "lag_ms")},
    }


def _child(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, out))
    proc.start()
    try:
        return dict(out.get(timeout=600))
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.terminate()


def run_mode(
    name: str, server_mode: str, codec: str, steps: list[int], seconds: float, *, echo: bool = False, agents: int = 0
) -> Mode:
    mode = Mode(name)
    port = _free_port()
    ctx = mp.get_context("spawn")
    server = ctx.Process(target=server_main, args=(port, server_mode), daemon=True)
    server.start()
    try:
        _wait_port(port)
        for calls in steps:
            step = None
            for _attempt in range(2):  # a step the clients could not drive (a stall) runs once more
                try:
                    if echo:
                        result = _child(echo_main, port, calls, seconds)
                    else:
                        result = run_clients(port, calls, codec, seconds, server_mode != "relay", agents)
                except Exception as exc:  # a client that could not keep up or timed out: a failed step
                    print(f"  {name} N={calls}: client failed: {exc!r}", file=sys.stderr, flush=True)
                    break
                step = Step(calls, result)
                if step.delivered >= 0.9:
                    break
            if step is None:
                break
            mode.steps.append(step)
            print(f"    {result}", file=sys.stderr, flush=True)
            print(
                f"  {name} N={calls}: delivered {step.delivered:.0%}, lost {step.lost_ratio:.2%}, "
                f"lost+late {step.bad_ratio:.2%}, "
                f"server core {step.core_share:.0%}, {step.cpu_ms_per_call_second:.2f} ms/call-s "
                f"-> {step.per_core:.0f}/core {'ok' if step.ok else 'FAIL'}"
                f"{'' if step.realtime_ok else ' (not real time)'}",
                file=sys.stderr,
                flush=True,
            )
            if not step.ok:
                break
    finally:
        server.terminate()
        server.join(10)
    return mode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", required=True, help="where to write the results")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps (~2 min)")
    parser.add_argument("--agents", type=int, default=300, help="logged-in agents in the site-scale step")
    args = parser.parse_args(argv)
    if args.quick:
        forward, relay, seconds = [60, 150], [4, 8], 3.0
    else:
        forward, relay, seconds = [50, 100, 200, 300, 400], [4, 8, 12, 16, 20, 25], 8.0
    load_before = os.getloadavg()
    pcmu = run_mode("pcmu_forward", "switch", "PCMU", forward, seconds)
    opus = run_mode("opus_forward", "switch", "opus", forward, seconds)
    base = run_mode("relay_opus", "relay", "opus", relay, seconds)
    echo_at = pcmu.best.calls if pcmu.best else forward[0]
    echo = run_mode("udp_echo", "echo", "PCMU", [echo_at], seconds, echo=True)
    site_calls = min(echo_at, 100)
    site = run_mode("site_300_agents", "switch", "opus", [site_calls], seconds, agents=args.agents)
    modes = [pcmu, opus, base, echo, site]
    if not args.quick:
        modes.append(run_mode("opus_switch_transcode", "transcode", "opus", relay, seconds))
    best = pcmu.best
    echo_per_core = echo.steps[-1].per_core if echo.steps else 0.0  # the ceiling: its losses do not matter
    site_step = site.steps[-1] if site.steps else None
    site_lag = site_step.result["lag_ms"] if site_step else {}
    result: dict[str, Any] = {
        "pcmu_forward_calls_per_core": round(pcmu.per_core),
        "opus_forward_calls_per_core": round(opus.per_core),
        "baseline_relay_calls_per_core": round(base.per_core, 1),
        "ratio_vs_relay": round(opus.per_core / base.per_core, 1) if base.per_core else None,
        "ratio_vs_relay_pcmu_vs_opus_relay": round(pcmu.per_core / base.per_core, 1) if base.per_core else None,
        "ratio_vs_udp_echo": round(pcmu.per_core / echo_per_core, 2) if echo_per_core else None,
        "udp_echo_calls_per_core": round(echo_per_core),
        "added_delay_ms_p95": best.result["transit_ms"][1] if best and best.result["transit_ms"] else None,
        "late_frames_pct": round(100 * best.bad_ratio, 3) if best else None,
        "cpu_ms_per_call_second": round(best.cpu_ms_per_call_second, 3) if best else None,
        "event_loop_lag_ms_p99": best.result["lag_ms"].get("p99") if best else None,
        "event_loop_own_lag_ms_p99": best.result["lag_ms"].get("own_p99") if best else None,
        "measured_at_calls": best.calls if best else 0,
        "pcmu_forward_realtime_ok_calls": pcmu.realtime_calls,
        "opus_forward_realtime_ok_calls": opus.realtime_calls,
        "site": {
            "agents_logged_in": args.agents,
            "calls": site_calls,
            "codec": "opus",
            "event_loop_lag_ms_p99": site_lag.get("p99"),
            "event_loop_own_lag_ms_p99": site_lag.get("own_p99"),
            "gc_ms_max": site_lag.get("gc_ms_max"),
            "server_core_share": round(site_step.core_share, 3) if site_step else None,
            "lost_or_late_pct": round(100 * site_step.bad_ratio, 3) if site_step else None,
        },
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "quick": args.quick,
        "modes": {m.name: m.summary() for m in modes},
    }
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "modes"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
