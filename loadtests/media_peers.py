"""The client side of ``bench_media``: cheap WebRTC peers and a raw UDP load for the echo.

Each call is two real aiortc peer connections (customer, agent: ICE, DTLS, SRTP, RTCP), but
their RTP goes over the packet path the switch uses (:class:`SrtpPath`), so one client core can
drive hundreds of calls: one pacer task writes, every 20 ms, one packet per peer; receivers
only unprotect and count. A forwarded payload carries the pacer's tick number, so each packet's
transit through the server is exact; a re-encoded one (the relay) is judged by its arrival
against its RTP timestamp instead.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

import aiohttp
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from loadtests.media_servers import LagMonitor, pin, raise_fd_limit
from site_node.media import aiortc_internals
from site_node.media.codecs import codec_by_name, encode_buffer
from site_node.media.rtp_stream import RtpWriter, payload_of

LATE_S = 0.06
PERIOD_S = 0.02
WARM_UP_S = 2.0
SLOTS = 4


class IdleTrack(MediaStreamTrack):
    """aiortc's sender waits on this forever: the packet path sends instead."""

    kind = "audio"

    async def recv(self) -> Any:
        await asyncio.get_running_loop().create_future()


class Ticks:
    """When each pacer tick was sent (a forwarded payload names its tick)."""

    def __init__(self) -> None:
        self.sent_at: list[float] = []


class Meter:
    def __init__(self, ticks: Ticks, clock_rate: int, tagged: bool) -> None:
        self._ticks = ticks
        self._clock_rate = clock_rate
        self._tagged = tagged
        self.measuring = False
        self.received = self.late = 0
        self.first_seq: int | None = None
        self.last_seq = 0
        self.cycles = 0
        self.transits: list[float] = []
        self._min_offset: float | None = None

    def on_rtp(self, packet: bytes, payload_type: int, seq: int, ts: int) -> None:
        if not self.measuring:
            return
        now = time.monotonic()
        if self.first_seq is None:
            self.first_seq = self.last_seq = seq
        elif seq < self.last_seq and self.last_seq - seq > 0x8000:
            self.cycles += 0x10000
            self.last_seq = seq
        elif seq > self.last_seq:
            self.last_seq = seq
        self.received += 1
        if self._tagged:
            tick = int.from_bytes(payload_of(packet)[1:5], "big")
            if tick < len(self._ticks.sent_at):
                transit = now - self._ticks.sent_at[tick]
                self.transits.append(transit)
                self.late += transit > LATE_S
            return
        offset = now - ts / self._clock_rate
        if self._min_offset is None or offset < self._min_offset:
            self._min_offset = offset
        self.late += offset - self._min_offset > LATE_S

    @property
    def expected(self) -> int:
        return 0 if self.first_seq is None else self.cycles + self.last_seq - self.first_seq + 1


class Peer:
    def __init__(self, codec: str, ticks: Ticks, tagged: bool) -> None:
        self.pc = RTCPeerConnection()
        self.spec = codec_by_name(codec)
        self.transceiver = self.pc.addTransceiver(IdleTrack(), direction="sendrecv")
        caps = RTCRtpSender.getCapabilities("audio")
        assert caps is not None
        self.transceiver.setCodecPreferences([c for c in caps.codecs if c.name == codec])
        self.meter = Meter(ticks, self.spec.clock_rate, tagged)
        self.writer: RtpWriter | None = None
        self.path: aiortc_internals.SrtpPath | None = None

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        path = self.path = aiortc_internals.SrtpPath(self.transceiver, self.meter.on_rtp, self.spec.clock_rate)
        pt = next(iter(aiortc_internals.codec_payload_types(self.transceiver)))
        self.writer = RtpWriter(pt, path.ssrc, path.send)

    async def close(self) -> None:
        if self.path is not None:
            self.path.close()
        await self.pc.close()


async def _connected(pc: RTCPeerConnection) -> None:
    changed = asyncio.Event()
    pc.on("connectionstatechange", changed.set)
    try:
        while pc.connectionState != "connected":
            await changed.wait()
            changed.clear()
    finally:
        pc.remove_listener("connectionstatechange", changed.set)


async def _pace(peers: list[Peer], payloads: list[bytes], ticks: Ticks, tagged: bool, stop: asyncio.Event) -> None:
    """One packet per peer every 20 ms, the peers spread over four 5 ms slots (real clients are
    not in step); a stalled loop does not catch up (a microphone does not)."""
    loop = asyncio.get_running_loop()
    frame_ticks = peers[0].spec.frame_ticks if peers else 0
    groups = [peers[i::SLOTS] for i in range(SLOTS)]
    start = loop.time()
    n = 0
    while not stop.is_set():
        wait = start + n * PERIOD_S / SLOTS - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -2 * PERIOD_S:
            start -= wait
        frame = n // SLOTS
        tick = len(ticks.sent_at)
        ticks.sent_at.append(time.monotonic())
        payload = payloads[frame % len(payloads)]
        if tagged:
            payload = payload[:1] + tick.to_bytes(4, "big") + payload[5:]
        for peer in groups[n % SLOTS]:
            if peer.writer is not None:
                peer.writer.write(payload, frame * frame_ticks)
        n += 1


def client_main(
    port: int, calls: int, codec: str, seconds: float, tagged: bool, agents: int, ready: Any, go: Any, out: Any
) -> None:
    """One of the bench's client processes: connects its share of the calls, says ``ready``,
    then runs the media on the schedule the driver sends on ``go`` (a wall-clock start)."""
    import uvloop

    pin(1)
    raise_fd_limit()
    out.put(uvloop.run(_run_calls(port, calls, codec, seconds, tagged, agents, ready, go)))


async def _until(wall: float) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()))


async def _run_calls(
    port: int, calls: int, codec: str, seconds: float, tagged: bool, agents: int, ready: Any, go: Any
) -> dict[str, Any]:
    """``calls`` bridged calls, plus ``agents`` logged-in agents' softphones: a leg each that
    sends (silence, as the agent desktop's phone does between calls) and hears nothing."""
    aiortc_internals.install_host_addresses(["127.0.0.1"])
    aiortc_internals.set_rtcp_interval(5.0)  # what a browser does for audio
    loop = asyncio.get_running_loop()
    spec = codec_by_name(codec)
    t = np.arange(spec.sample_rate) / spec.sample_rate
    voice = encode_buffer((3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16), spec.sample_rate, spec)
    ticks = Ticks()
    peers: list[Peer] = []
    url = f"http://127.0.0.1:{port}"
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        for _ in range(calls):
            customer, agent = Peer(codec, ticks, tagged), Peer(codec, ticks, tagged)
            c_sdp, a_sdp = await customer.offer(), await agent.offer()
            async with http.post(f"{url}/call", json={"customer": c_sdp, "agent": a_sdp}) as r:
                answers = await r.json()
            await customer.accept(answers["customer"])
            await agent.accept(answers["agent"])
            peers += [customer, agent]
        idle: list[Peer] = []
        for _ in range(agents):
            phone = Peer(codec, ticks, tagged)
            async with http.post(f"{url}/leg", json={"sdp": await phone.offer()}) as r:
                await phone.accept((await r.json())["sdp"])
            idle.append(phone)
    async with asyncio.timeout(120):
        for peer in peers + idle:
            await _connected(peer.pc)
    ready.put(len(peers) + len(idle))
    start = float(await loop.run_in_executor(None, go.get))
    await _until(start)
    pacer = loop.create_task(_pace(peers + idle, voice, ticks, tagged, stop))
    lag = LagMonitor()
    lag.start()
    try:
        await _until(start + WARM_UP_S)
        lag.take()
        own0 = os.times()
        for peer in peers:
            peer.meter.measuring = True
        await _until(start + WARM_UP_S + seconds)
        for peer in peers:
            peer.meter.measuring = False
        own1 = os.times()
        client_lag = lag.take()
    finally:
        stop.set()
        await asyncio.gather(pacer, return_exceptions=True)
        await lag.stop()
    for peer in peers + idle:
        await peer.close()
    meters = [peer.meter for peer in peers]
    expected = sum(m.expected for m in meters)
    received = sum(m.received for m in meters)
    return {
        "expected": expected,
        "received": received,
        "lost": max(0, expected - received),
        "late": sum(m.late for m in meters),
        "client_cpu": (own1.user + own1.system - own0.user - own0.system) / seconds,
        "transits": np.array([x for m in meters for x in m.transits], np.float32).tobytes(),
        "client_lag_ms": client_lag,
    }


def echo_main(port: int, calls: int, seconds: float, out: Any) -> None:
    import uvloop

    pin(1)
    out.put(uvloop.run(_run_echo(port, calls, seconds)))


async def _run_echo(port: int, calls: int, seconds: float) -> dict[str, Any]:
    """The switch's datagram rate for ``calls`` calls (2 legs x 50/s in and out), echoed."""
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/cpu") as r:
            echo_port = (await r.json())["echo_port"]
        socks = []
        for _ in range(2 * calls):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(("127.0.0.1", echo_port))
            socks.append(sock)
        received = 0

        def on_readable(sock: socket.socket) -> None:
            nonlocal received
            while True:
                try:
                    sock.recv(2048)
                except BlockingIOError:
                    return
                received += 1

        for sock in socks:
            loop.add_reader(sock.fileno(), on_readable, sock)
        datagram = bytes(172)  # a PCMU SRTP packet's size
        sent = 0
        start = loop.time()
        measure_from = start + 2.0
        cpu0: dict[str, Any] | None = None
        n = 0
        try:
            while True:
                now = loop.time()
                if cpu0 is None and now >= measure_from:
                    async with http.get(f"http://127.0.0.1:{port}/cpu") as r:
                        cpu0 = await r.json()
                    sent = received = 0
                if cpu0 is not None and now >= measure_from + seconds:
                    break
                wait = start + n * PERIOD_S - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                for sock in socks:
                    try:
                        sock.send(datagram)
                        sent += 1
                    except BlockingIOError:
                        pass
                n += 1
            async with http.get(f"http://127.0.0.1:{port}/cpu") as r:
                cpu1 = await r.json()
        finally:
            for sock in socks:
                loop.remove_reader(sock.fileno())
                sock.close()
    assert cpu0 is not None
    return {
        "calls": calls,
        "counters": {"delivered": cpu1["delivered"] - cpu0["delivered"]},
        "sent": sent,
        "received": received,
        "server_cpu_s": cpu1["cpu"] - cpu0["cpu"],
        "wall_s": cpu1["wall"] - cpu0["wall"],
        "echoed": cpu1["echoed"] - cpu0["echoed"],
        "lag_ms": cpu1["lag_ms"],
    }
