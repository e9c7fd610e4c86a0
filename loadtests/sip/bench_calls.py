"""``sip_calls_per_core`` for :mod:`loadtests.bench_sip`: SIP (plain RTP, PCMU) callers bridged
to WebRTC (PCMU) agents in one media switch, pinned to one core.

A simplified measurement (documented in the bench's output): the switch runs alone in its
process (as in :mod:`loadtests.bench_media`), each call is an RTP leg (the SIP edge's relay
stands for the carrier and is not measured: it forwards datagrams) bridged to a WebRTC leg;
the clients run in another process: a plain-RTP sender/receiver per caller (pre-encoded
PCMU, one shared 20 ms tick) and a cheap aiortc peer per agent (pre-encoded packets, frames
counted without decoding). A frame is late when it arrives more than 60 ms behind its
timestamp's schedule (the stream's best offset), as in bench_media; lost frames count as bad.
N grows until a step has >= 1 % late or lost frames or the switch's core is > 95 % busy.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import secrets
import sys
import time
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web

from loadtests.bench_media import _free_port, _wait_port
from loadtests.media_peers import LATE_S, Meter, Peer, Ticks, _connected
from loadtests.media_servers import pin as _pin
from loadtests.media_servers import serve_forever
from site_node.config import MediaConfig
from site_node.media import MediaSwitch, aiortc_internals
from site_node.media.codecs import PCMU, encode_buffer
from site_node.media.rtp_sdp import RtpMedia, build_sdp, parse_sdp
from site_node.media.rtp_wire import RtpPacket
from site_node.recordings.sealed import AudioKeys


# ---------------------------------------------------------------- switch process
def switch_main(port: int) -> None:
    import uvloop

    _pin(0)
    uvloop.run(_serve(port))


async def _serve(port: int) -> None:
    switch = MediaSwitch(MediaConfig(recordings_dir="/tmp"), audio_keys=AudioKeys(secrets.token_urlsafe(48)))
    await switch.start()
    counter = 0

    async def call(request: web.Request) -> web.Response:
        nonlocal counter
        body = await request.json()
        counter += 1
        c_leg, c_answer = await switch.answer_rtp(f"c{counter}", body["customer"])
        a_leg, a_answer = await switch.answer_webrtc(f"a{counter}", body["agent"])
        switch.new_call(f"call{counter}", c_leg.leg_id).connect_agent(a_leg.leg_id)
        return web.json_response({"customer": c_answer, "agent": a_answer})

    async def cpu(request: web.Request) -> web.Response:
        t = os.times()
        return web.json_response({"cpu": t.user + t.system, "wall": time.monotonic()})

    async def reset(request: web.Request) -> web.Response:
        for c in switch.calls.values():
            c.end()
        for leg_id in list(switch.legs):
            await switch.close_leg(leg_id)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/call", call)
    app.router.add_get("/cpu", cpu)
    app.router.add_post("/reset", reset)
    try:
        await serve_forever(app, port)
    finally:
        await switch.stop()


# ---------------------------------------------------------------- client process
class RtpCaller(asyncio.DatagramProtocol):
    """One phone line's RTP: sent on the shared tick, received frames checked for lateness."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.ssrc, self.seq, self.ts = secrets.randbits(32), 0, 0
        self.measuring = False
        self.received = self.late = 0
        self._first: int | None = None
        self._last = 0
        self._min_offset: float | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def send(self, payload: bytes) -> None:
        if self.transport is not None and self.remote is not None:
            self.transport.sendto(RtpPacket(0, self.seq, self.ts, self.ssrc, payload).to_bytes(), self.remote)
            self.seq, self.ts = (self.seq + 1) & 0xFFFF, self.ts + 160

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not self.measuring or len(data) < 12:
            return
        ts = int.from_bytes(data[4:8], "big")
        offset = time.monotonic() - ts / 8000
        if self._min_offset is None or offset < self._min_offset:
            self._min_offset = offset
        if offset - self._min_offset > LATE_S:
            self.late += 1
        if self._first is None:
            self._first = ts
        self._last = ts
        self.received += 1

    @property
    def expected(self) -> int:
        return 0 if self._first is None else (self._last - self._first) // 160 + 1


def client_main(port: int, calls: int, seconds: float, out: Any) -> None:
    import uvloop

    _pin(1)
    out.put(uvloop.run(_clients(port, calls, seconds)))


async def _clients(port: int, calls: int, seconds: float) -> dict[str, Any]:
    aiortc_internals.install_host_addresses(["127.0.0.1"])
    loop = asyncio.get_running_loop()
    silence = encode_buffer(np.zeros(160, np.int16), 8000, PCMU)[0]
    callers: list[RtpCaller] = []
    meters: list[Meter] = []
    peers: list[Peer] = []
    ticks = Ticks()
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(calls):
            transport, caller = await loop.create_datagram_endpoint(RtpCaller, local_addr=("127.0.0.1", 0))
            local = transport.get_extra_info("sockname")[1]
            offer = build_sdp(RtpMedia("127.0.0.1", local, ((0, "PCMU"),), 101))
            peer = Peer("PCMU", ticks, tagged=False)  # the browser agent's side
            a_sdp = await peer.offer()
            async with http.post(f"{url}/call", json={"customer": offer, "agent": a_sdp}) as r:
                answers = await r.json()
            answer = parse_sdp(answers["customer"])
            caller.remote = (answer.host, answer.port)
            await peer.accept(answers["agent"])
            callers.append(caller)
            meters.append(peer.meter)
            peers.append(peer)
        async with asyncio.timeout(60):
            for peer in peers:
                await _connected(peer.pc)

        async def tick() -> None:
            start, n = loop.time(), 0
            while True:
                for caller in callers:
                    caller.send(silence)
                for peer in peers:
                    if peer.writer is not None:
                        peer.writer.write(silence, n * 160)
                n += 1
                wait = start + n * 0.02 - loop.time()
                if wait < -0.04:  # a phone line does not catch up after a stall (no burst): its
                    skipped = int(-wait / 0.02)  # clock ran on, the frames it missed are gone
                    start += 0.02 * skipped
                    for caller in callers:
                        caller.ts += 160 * skipped
                    wait += 0.02 * skipped
                await asyncio.sleep(max(0.0, wait))

        ticker = asyncio.create_task(tick(), name="rtp-callers")
        await asyncio.sleep(2.0)  # warm up
        async with http.get(f"{url}/cpu") as r:
            cpu0 = await r.json()
        for side in (callers, meters):
            for thing in side:
                thing.measuring = True
        await asyncio.sleep(seconds)
        for side in (callers, meters):
            for thing in side:
                thing.measuring = False
        async with http.get(f"{url}/cpu") as r:
            cpu1 = await r.json()
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        for peer in peers:
            await peer.close()
        for caller in callers:
            if caller.transport is not None:
                caller.transport.close()
        async with http.post(f"{url}/reset") as r:
            await r.read()
    streams = [(c.expected, c.received, c.late) for c in callers] + [(m.expected, m.received, m.late) for m in meters]
    expected = sum(s[0] for s in streams)
    bad = sum(max(0, s[0] - s[1]) + s[2] for s in streams)
    sides = {side: [sum(x.expected for x in group), sum(x.received for x in group), sum(x.late for x in group)]
             for side, group in (("to_caller", callers), ("to_agent", meters))}  # type: ignore[attr-defined]  # fmt: skip
    print(f"    {calls} calls: [expected, received, late] {sides}", file=sys.stderr, flush=True)
    return {"calls": calls, "expected": expected, "bad": bad,
            "switch_cpu": (cpu1["cpu"] - cpu0["cpu"]) / (cpu1["wall"] - cpu0["wall"])}  # fmt: skip


def capacity(steps: list[int], seconds: float) -> dict[str, Any]:
    """The largest passing N, N / (switch core share) there, and every step's numbers."""
    port = _free_port()
    ctx = mp.get_context("spawn")
    server = ctx.Process(target=switch_main, args=(port,), daemon=True)
    server.start()
    best, per_core, rows = 0, 0.0, []
    try:
        _wait_port(port)
        for calls in steps:
            for attempt in (1, 2):  # a step that fails is run once more: the 2 cores are shared
                out = ctx.Queue()
                proc = ctx.Process(target=client_main, args=(port, calls, seconds, out))
                proc.start()
                result = out.get(timeout=300)
                proc.join(30)
                ratio = result["bad"] / max(1, result["expected"])
                ok = ratio < 0.01 and result["switch_cpu"] < 0.95
                rows.append({"calls": calls, "attempt": attempt, "bad_ratio": round(ratio, 4),
                             "switch_cpu": round(result["switch_cpu"], 3),
                             "switch_cpu_ms_per_call_s": round(1000 * result["switch_cpu"] / calls, 2)})  # fmt: skip
                print(f"  SIP<->WebRTC PCMU N={calls}: late+lost {ratio:.2%}, switch core {result['switch_cpu']:.0%}, "
                      f"{'ok' if ok else 'FAIL'}", file=sys.stderr, flush=True)  # fmt: skip
                if ok:
                    break
            if not ok:
                break
            best, per_core = calls, calls / max(result["switch_cpu"], 1e-3)
    finally:
        server.terminate()
        server.join(10)
    return {"passing_calls_on_one_core": best, "extrapolated_per_core": round(per_core), "steps": rows}
