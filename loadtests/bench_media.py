"""Media switch benchmark: bridged calls per core (forwarding and transcoding) and added delay.

    python -m loadtests.bench_media --json PATH [--quick]

The switch runs in its own process pinned to one core; the customer and agent peers run in
another process (pinned to the other core when there is one). Client peers are cheap: they send
pre-encoded packets and count received frames without decoding (except the few probe calls that
decode to time tone bursts). For each mode, N grows until a step fails: more than 1 % of frames
late (> 60 ms behind their schedule) or lost, or the switch's core is saturated (> 95 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from site_node.config import MediaConfig
from site_node.media import MediaSwitch, aiortc_internals
from site_node.media.codecs import AudioDecoder, codec_by_name, encode_buffer, make_packet
from site_node.recordings.sealed import AudioKeys

LATE_S = 0.06
PROBES = 2


def _pin(core: int) -> None:
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[core % len(cores)]})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- switch process
def switch_main(port: int, force_transcode: bool) -> None:
    import uvloop

    _pin(0)
    uvloop.run(_serve_switch(port, force_transcode))


async def _serve_switch(port: int, force_transcode: bool) -> None:
    switch = MediaSwitch(MediaConfig(recordings_dir="/tmp"), audio_keys=AudioKeys(secrets.token_urlsafe(48)),
                         force_transcode=force_transcode)
    await switch.start()
    counter = 0

    async def call(request: web.Request) -> web.Response:
        nonlocal counter
        body = await request.json()
        counter += 1
        c_leg, c_answer = await switch.answer_webrtc(f"c{counter}", body["customer"])
        a_leg, a_answer = await switch.answer_webrtc(f"a{counter}", body["agent"])
        switch.new_call(f"call{counter}", c_leg.leg_id).connect_agent(a_leg.leg_id)
        return web.json_response({"customer": c_answer, "agent": a_answer})

    async def cpu(request: web.Request) -> web.Response:
        t = os.times()
        legs = switch.legs.values()
        return web.json_response(
            {
                "cpu": t.user + t.system,
                "wall": time.monotonic(),
                "frames_in": sum(leg.frames_in for leg in legs),
                "dropped": sum(leg.port.dropped for leg in legs),
            }
        )

    async def reset(request: web.Request) -> web.Response:
        for call in switch.calls.values():
            call.end()
        for leg_id in list(switch.legs):
            await switch.close_leg(leg_id)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/call", call)
    app.router.add_get("/cpu", cpu)
    app.router.add_post("/reset", reset)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await switch.stop()
        await runner.cleanup()


# ---------------------------------------------------------------- client process
class PacketTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, silence: bytes, burst: list[bytes] | None, codec: str, tagged: bool = False) -> None:
        super().__init__()
        self._spec = codec_by_name(codec)
        self._tagged = tagged
        self.sent_at: list[float] = []
        self._silence, self._burst = silence, burst or []
        self._n = 0
        self._start: float | None = None
        self.burst_times: list[float] = []

    async def recv(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._n * 0.02 - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.04:  # a microphone does not catch up after a stall: restart the clock
            self._start -= wait
        payload = self._silence
        if self._burst:
            pos = self._n % 50  # one 100 ms burst per second
            if pos < len(self._burst):
                payload = self._burst[pos]
                if pos == 0:
                    self.burst_times.append(loop.time())
        if self._tagged:  # frame index inside the payload (kept after the Opus TOC byte)
            payload = payload[:1] + self._n.to_bytes(4, "big") + payload[5:]
            self.sent_at.append(loop.time())
        packet = make_packet(payload, self._n * self._spec.frame_ticks, self._spec)
        self._n += 1
        return packet


class Meter:
    """Counts received frames without decoding (probes decode to time the bursts)."""

    def __init__(self, codec: str, probe: bool, peer: PacketTrack | None = None) -> None:
        self._peer = peer
        self.indices: set[int] = set()
        self.transits: list[float] = []
        self._clock = codec_by_name(codec).clock_rate
        self._ticks = codec_by_name(codec).frame_ticks
        self._decoder = AudioDecoder(codec_by_name(codec)) if probe else None
        self.measuring = False
        self.received = self.late = 0
        self._first_ts: int | None = None
        self._last_ts = 0
        self._min_offset: float | None = None
        self._loud = False
        self.onsets: list[float] = []

    def __call__(self, codec: str, payload: bytes, ts: int) -> None:
        now = time.monotonic()
        if self._decoder is not None:
            pcm = self._decoder.decode(payload)
            loud = bool(len(pcm)) and float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) > 1500
            if loud and not self._loud:
                self.onsets.append(now)
            self._loud = loud
        if not self.measuring:
            return
        if self._peer is not None:
            index = int.from_bytes(payload[1:5], "big")
            sent = self._peer.sent_at
            if index < len(sent):
                self.indices.add(index)
                self.received += 1
                transit = asyncio.get_running_loop().time() - sent[index]
                self.transits.append(transit)
                if transit > LATE_S:
                    self.late += 1
            return
        offset = now - ts / self._clock
        if self._min_offset is None or offset < self._min_offset:
            self._min_offset = offset
        if offset - self._min_offset > LATE_S:
            self.late += 1
        if self._first_ts is None:
            self._first_ts = ts
        self._last_ts = ts
        self.received += 1

    @property
    def expected(self) -> int:
        if self.indices:
            return max(self.indices) - min(self.indices) + 1
        if self._first_ts is None:
            return 0
        return (self._last_ts - self._first_ts) // self._ticks + 1


def client_main(port: int, calls: int, codec: str, seconds: float, tagged: bool, out: Any) -> None:
    import uvloop

    _pin(1)
    out.put(uvloop.run(_run_clients(port, calls, codec, seconds, tagged)))


async def _connected(pc: RTCPeerConnection) -> None:
    """Until ``pc`` is connected, woken by its state changes (the caller bounds the wait)."""
    changed = asyncio.Event()

    def wake() -> None:
        changed.set()

    pc.on("connectionstatechange", wake)
    try:
        while pc.connectionState != "connected":
            await changed.wait()
            changed.clear()
    finally:
        pc.remove_listener("connectionstatechange", wake)


async def _peer(codec: str, track: PacketTrack, meter: Meter) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(track, direction="sendrecv")
    caps = RTCRtpSender.getCapabilities("audio")
    assert caps is not None
    transceiver.setCodecPreferences([c for c in caps.codecs if c.name == codec])
    aiortc_internals.tap_receiver(transceiver.receiver, meter)
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def _run_clients(port: int, calls: int, codec: str, seconds: float, tagged: bool) -> dict[str, Any]:
    aiortc_internals.install_host_addresses(["127.0.0.1"])
    spec = codec_by_name(codec)
    silence = encode_buffer(np.zeros(spec.sample_rate // 50, np.int16), spec.sample_rate, spec)[0]
    t = np.arange(spec.sample_rate // 10) / spec.sample_rate
    burst = encode_buffer((8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16), spec.sample_rate, spec)
    pcs: list[RTCPeerConnection] = []
    meters: list[Meter] = []
    probes: list[tuple[PacketTrack, Meter]] = []
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for i in range(calls):
            probe = i < PROBES
            tag = tagged and not probe
            c_track = PacketTrack(silence, burst if probe else None, codec, tag)
            a_track = PacketTrack(silence, None, codec, tag)
            c_meter = Meter(codec, False, a_track if tag else None)
            a_meter = Meter(codec, probe, c_track if tag else None)
            c_pc, c_sdp = await _peer(codec, c_track, c_meter)
            a_pc, a_sdp = await _peer(codec, a_track, a_meter)
            async with http.post(f"{url}/call", json={"customer": c_sdp, "agent": a_sdp}) as r:
                answers = await r.json()
            await c_pc.setRemoteDescription(RTCSessionDescription(answers["customer"], "answer"))
            await a_pc.setRemoteDescription(RTCSessionDescription(answers["agent"], "answer"))
            pcs += [c_pc, a_pc]
            meters += [c_meter, a_meter]
            if probe:
                probes.append((c_track, a_meter))
        async with asyncio.timeout(60):
            for pc in pcs:
                await _connected(pc)
        await asyncio.sleep(2.0)  # warm up
        async with http.get(f"{url}/cpu") as r:
            cpu0 = await r.json()
        own0, wall0 = os.times(), time.monotonic()
        for meter in meters:
            meter.measuring = True
        await asyncio.sleep(seconds)
        for meter in meters:
            meter.measuring = False
        async with http.get(f"{url}/cpu") as r:
            cpu1 = await r.json()
        own1, wall1 = os.times(), time.monotonic()
        for pc in pcs:
            await pc.close()
        async with http.post(f"{url}/reset") as r:
            await r.read()
    delays = []
    for track, meter in probes:
        for onset in meter.onsets:
            sent = [s for s in track.burst_times if s <= onset]
            if sent and onset - sent[-1] < 0.5:
                delays.append((onset - sent[-1]) * 1000)
    all_transits = [t for m in meters for t in m.transits]
    expected = sum(m.expected for m in meters)
    received = sum(m.received for m in meters)
    return {
        "calls": calls,
        "expected": expected,
        "lost": max(0, expected - received),
        "late": sum(m.late for m in meters),
        "switch_cpu": (cpu1["cpu"] - cpu0["cpu"]) / (cpu1["wall"] - cpu0["wall"]),
        "client_cpu": (own1.user + own1.system - own0.user - own0.system) / (wall1 - wall0),
        "delays_ms": delays,
        "transit_ms_p50_p95": [round(float(np.percentile(all_transits, q)) * 1000, 1) for q in (50, 95)]
        if all_transits
        else [],
        "worst_streams": sorted(
            (round(1 - m.received / max(1, m.expected), 2), m.late, m.expected) for m in meters
        )[-4:],
        "switch_frames_in": cpu1["frames_in"] - cpu0["frames_in"],
        "switch_dropped": cpu1["dropped"] - cpu0["dropped"],
    }


# ---------------------------------------------------------------- driver
@dataclass
class Step:
    calls: int
    bad_ratio: float
    switch_cpu: float
    client_cpu: float
    delays_ms: list[float]

    @property
    def ok(self) -> bool:
        return self.bad_ratio < 0.01 and self.switch_cpu < 0.95


def run_step(port: int, calls: int, codec: str, seconds: float, tagged: bool) -> Step:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=client_main, args=(port, calls, codec, seconds, tagged, out))
    proc.start()
    result = out.get(timeout=300)
    proc.join(30)
    bad = (result["lost"] + result["late"]) / max(1, result["expected"])
    details = {k: v for k, v in result.items() if k != "delays_ms"}
    print(f"    {details}", file=sys.stderr, flush=True)
    step = Step(calls, bad, result["switch_cpu"], result["client_cpu"], result["delays_ms"])
    print(
        f"  {codec} N={calls}: lost+late {bad:.2%}, switch core {step.switch_cpu:.0%}, {'ok' if step.ok else 'FAIL'}",
        file=sys.stderr,
        flush=True,
    )
    return step


def find_capacity(codec: str, transcode: bool, steps: list[int], seconds: float) -> tuple[int, float, list[float]]:
    """Largest passing N, and N / (switch core share) at that step (an extrapolation)."""
    port = _free_port()
    ctx = mp.get_context("spawn")
    server = ctx.Process(target=switch_main, args=(port, transcode), daemon=True)
    server.start()
    delays: list[float] = []
    best, per_core = 0, 0.0
    try:
        _wait_port(port)
        for calls in steps:
            step = run_step(port, calls, codec, seconds, not transcode)
            if not step.ok:
                break
            best = calls
            per_core = calls / max(step.switch_cpu, 1e-3)
            delays += step.delays_ms
    finally:
        server.terminate()
        server.join(10)
    return best, per_core, delays


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("switch process did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True, help="where to write the results")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps (~1 min)")
    args = parser.parse_args(argv)
    if args.quick:
        forward, transcode, seconds = [40, 100], [10, 20], 2.0
    else:
        forward = [25, 50, 75, 100, 125, 150, 175, 200]
        transcode, seconds = [10, 15, 20, 25, 30, 40], 6.0
    pcmu, pcmu_x, delays = find_capacity("PCMU", False, forward, seconds)
    opus, opus_x, opus_delays = find_capacity("opus", False, forward, seconds)
    opus_tc, opus_tc_x, _ = find_capacity("opus", True, transcode, seconds)
    delays += opus_delays
    p95 = float(np.percentile(delays, 95)) if delays else float("nan")
    result = {
        "pcmu_forward_calls_per_core": pcmu,
        "opus_forward_calls_per_core": opus,
        "opus_transcode_calls_per_core": opus_tc,
        "added_delay_ms_p95": round(p95, 1),
        "added_delay_ms_median": round(statistics.median(delays), 1) if delays else None,
        "extrapolated_calls_per_core": {
            "pcmu_forward": round(pcmu_x),
            "opus_forward": round(opus_x),
            "opus_transcode": round(opus_tc_x),
        },
        "quick": args.quick,
    }
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
