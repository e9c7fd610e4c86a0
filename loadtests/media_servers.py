"""The server side of ``bench_media``: one process pinned to one core, in one of three modes.

* ``switch``: the product (:class:`~site_node.media.MediaSwitch`, packet path; ``transcode``
  forces the decode/encode path of the same switch);
* ``relay``: the baseline -- plain aiortc, each call two peer connections and a
  ``MediaRelay`` between them (aiortc decodes every received frame and re-encodes it);
* ``echo``: the ceiling -- a raw UDP echo on uvloop (receive a datagram, send it back).

Every mode answers ``GET /cpu`` with its CPU time (``resource.getrusage``), the wall clock and
counters, and, since the previous ``/cpu``, the event loop's lag (a 5 ms sleeper, p50/p99/max).
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import secrets
import time
from typing import Any

import numpy as np
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from site_node.config import MediaConfig
from site_node.media import MediaSwitch, WebRtcLeg
from site_node.recordings.sealed import AudioKeys

LAG_PERIOD_S = 0.005


def pin(core: int) -> None:
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[core % len(cores)]})


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LagMonitor:
    """How late a 5 ms sleep wakes up: the event loop's lag as any callback would see it.

    ``own`` is the part of each lag the loop spent running (this thread's CPU time over the
    sleep, capped at the lag); the rest was the process waiting for a core -- on a shared
    machine, the neighbours' share.
    """

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.own: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._gc_started = 0.0
        self.gc_pauses: list[float] = []

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append(time.perf_counter() - self._gc_started)

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lag-monitor")

    async def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(LAG_PERIOD_S)
            lag = max(0.0, time.perf_counter() - before - LAG_PERIOD_S)
            self.samples.append(lag)
            self.own.append(min(lag, time.thread_time() - cpu_before))

    def take(self) -> dict[str, float]:
        samples, self.samples = self.samples, []
        own, self.own = self.own, []
        pauses, self.gc_pauses = self.gc_pauses, []
        if not samples:
            return {}
        ms, own_ms = np.array(samples) * 1000, np.array(own) * 1000
        return {
            "p50": round(float(np.percentile(ms, 50)), 2),
            "p99": round(float(np.percentile(ms, 99)), 2),
            "max": round(float(ms.max()), 2),
            "own_p99": round(float(np.percentile(own_ms, 99)), 2),
            "own_max": round(float(own_ms.max()), 2),
            "gc_ms_total": round(1000 * sum(pauses), 2),
            "gc_ms_max": round(1000 * max(pauses, default=0.0), 2),
        }


class Server:
    """One mode's calls and counters behind the bench's HTTP control API."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.switch: MediaSwitch | None = None
        self.pcs: list[RTCPeerConnection] = []
        self.relay = MediaRelay()
        self.calls = 0
        self.echoed = 0
        self.echo_transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        if self.mode in ("switch", "transcode"):
            self.switch = MediaSwitch(
                MediaConfig(recordings_dir="/tmp"),
                audio_keys=AudioKeys(secrets.token_urlsafe(48)),
                force_transcode=self.mode == "transcode",
            )
            await self.switch.start()
        elif self.mode == "echo":
            server = self

            class Echo(asyncio.DatagramProtocol):
                def connection_made(self, transport: asyncio.BaseTransport) -> None:
                    self.transport: Any = transport

                def datagram_received(self, data: bytes, addr: Any) -> None:
                    server.echoed += 1
                    self.transport.sendto(data, addr)

            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                Echo, local_addr=("127.0.0.1", 0)
            )
            self.echo_transport = transport  # type: ignore[assignment]

    async def stop(self) -> None:
        await self.reset()
        if self.switch is not None:
            await self.switch.stop()
        if self.echo_transport is not None:
            self.echo_transport.close()

    async def call(self, customer_sdp: str, agent_sdp: str) -> dict[str, str]:
        self.calls += 1
        n = self.calls
        if self.switch is not None:
            c_leg, c_answer = await self.switch.answer_webrtc(f"c{n}", customer_sdp)
            a_leg, a_answer = await self.switch.answer_webrtc(f"a{n}", agent_sdp)
            self.switch.new_call(f"call{n}", c_leg.leg_id).connect_agent(a_leg.leg_id)
            return {"customer": c_answer, "agent": a_answer}
        c_pc, a_pc = RTCPeerConnection(), RTCPeerConnection()
        self.pcs += [c_pc, a_pc]
        await c_pc.setRemoteDescription(RTCSessionDescription(customer_sdp, "offer"))
        await a_pc.setRemoteDescription(RTCSessionDescription(agent_sdp, "offer"))
        c_track = c_pc.getTransceivers()[0].receiver.track
        a_track = a_pc.getTransceivers()[0].receiver.track
        c_pc.addTrack(self.relay.subscribe(a_track, buffered=False))
        a_pc.addTrack(self.relay.subscribe(c_track, buffered=False))
        answers = {}
        for name, pc in (("customer", c_pc), ("agent", a_pc)):
            await pc.setLocalDescription(await pc.createAnswer())
            answers[name] = pc.localDescription.sdp
        return answers

    async def leg(self, sdp: str) -> str:
        """A logged-in agent's softphone: a leg outside any call."""
        assert self.switch is not None
        self.calls += 1
        _leg, answer = await self.switch.answer_webrtc(f"p{self.calls}", sdp)
        return answer

    async def counters(self) -> dict[str, int]:
        """``delivered``: media packets the server sent (the echo: echoed), the work done."""
        if self.echo_transport is not None:
            return {"echoed": self.echoed, "delivered": self.echoed}
        if self.switch is None:
            sent = 0
            for pc in self.pcs:
                stats = await pc.getStats()
                sent += sum(int(s.packetsSent) for s in stats.values() if s.type == "outbound-rtp")
            return {"delivered": sent}
        legs = [leg for leg in self.switch.legs.values() if isinstance(leg, WebRtcLeg)]
        return {
            "delivered": sum(leg.packets_sent for leg in legs),
            "rtp_in": sum(leg.rtp_in for leg in legs),
            "aiortc_frames_in": sum(leg.aiortc_frames_in for leg in legs),
            "forwarded": sum(leg.frames_forwarded for leg in legs),
            "decoded": sum(leg.frames_decoded for leg in legs),
            "rtp_out": sum(leg.packets_sent for leg in legs),
        }

    async def reset(self) -> None:
        if self.switch is not None:
            for call in self.switch.calls.values():
                call.end()
            for leg_id in list(self.switch.legs):
                await self.switch.close_leg(leg_id)
        pcs, self.pcs = self.pcs, []
        for pc in pcs:
            await pc.close()


async def serve_forever(app: web.Application, port: int) -> None:
    """Serve a benchmark process's control API on loopback until cancelled."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def server_main(port: int, mode: str) -> None:
    import uvloop

    pin(0)
    raise_fd_limit()
    uvloop.run(_serve(port, mode))


async def _serve(port: int, mode: str) -> None:
    server = Server(mode)
    await server.start()
    lag = LagMonitor()
    lag.start()

    async def call(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(await server.call(body["customer"], body["agent"]))

    async def leg(request: web.Request) -> web.Response:
        return web.json_response({"sdp": await server.leg((await request.json())["sdp"])})

    async def cpu(request: web.Request) -> web.Response:
        info: dict[str, Any] = {"cpu": cpu_seconds(), "wall": time.monotonic(), "lag_ms": lag.take()}
        info.update(await server.counters())
        if server.echo_transport is not None:
            info["echo_port"] = server.echo_transport.get_extra_info("sockname")[1]
        return web.json_response(info)

    async def reset(request: web.Request) -> web.Response:
        await server.reset()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/call", call)
    app.router.add_post("/leg", leg)
    app.router.add_get("/cpu", cpu)
    app.router.add_post("/reset", reset)
    try:
        await serve_forever(app, port)
    finally:
        await lag.stop()
        await server.stop()
