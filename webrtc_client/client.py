"""The Python client: a customer and an agent speaking the same protocol as the web pages.

Used by tests, scripts (``callcenter call``) and Locust. Both survive a site failover: when the
signalling socket drops (or the site says the call ``moved``), the customer asks central where
its call is now and re-attaches with a fresh token; the agent asks central for its backup site
and re-attaches with its token, without credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from cluster.tls import client_session
from webrtc_client.audio import Receiver, SignalTrack, dtmf_samples

_log = logging.getLogger("webrtc_client")
_ids = itertools.count(1)


class ClientError(Exception):
    def __init__(
        self, error_id: str, message: str, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(f"[{error_id}] {message}")
        self.error_id = error_id
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s  # central's call.moving / agent.moving: ask again this soon


async def post_json(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], *, timeout_s: float = 5.0
) -> dict[str, Any]:
    async with http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
        data = await response.json(content_type=None)
        if response.status >= 400:
            retry_after = (data.get("details") or {}).get("retry_after_s")
            raise ClientError(
                str(data.get("error_id", f"http.{response.status}")), str(data.get("message", "")), response.status,
                float(retry_after) if isinstance(retry_after, int | float) else None,
            )
        return data  # type: ignore[no-any-return]


class Signalling:
    """One signalling WebSocket: requests with ids, a queue of pushed events."""

    def __init__(self, http: aiohttp.ClientSession, ws_url: str) -> None:
        self._http = http
        self.ws_url = ws_url
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._joined: asyncio.Future[dict[str, Any]] | None = None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []  # every message, for tests that inspect them
        self.received_at: list[float] = []  # time.monotonic() of each, for benchmarks
        self.closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, token: str, *, timeout_s: float = 10.0) -> dict[str, Any]:
        self._ws = await self._http.ws_connect(
            self.ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=2.0), heartbeat=5.0
        )
        self._joined = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(), name="signalling-reader")
        await self._ws.send_json({"type": "join", "token": token})
        async with asyncio.timeout(timeout_s):
            return await self._joined

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                self.received.append(data)
                self.received_at.append(time.monotonic())
                kind = data.get("type")
                if kind == "event":
                    self.events.put_nowait(data)
                    if data.get("event") == "moved":  # the call lives elsewhere now: go find it
                        await self._ws.close()
                    continue
                future = self._pending.pop(str(data.get("id")), None)
                if future is None and self._joined is not None and not self._joined.done():
                    future = self._joined
                if future is not None and not future.done():
                    if kind == "error":
                        future.set_exception(ClientError(data["error_id"], data.get("message", "")))
                    else:
                        future.set_result(data)
        finally:
            self.closed.set()
            error = ClientError("signalling.closed", "the site closed the connection")
            for future in [*self._pending.values(), *([self._joined] if self._joined else [])]:
                if not future.done():
                    future.set_exception(error)
                    future.exception()  # mark retrieved
            self._pending.clear()

    async def request(self, message: dict[str, Any], *, timeout_s: float = 10.0) -> dict[str, Any]:
        if self._ws is None or self._ws.closed:
            raise ClientError("signalling.closed", "not connected")
        msg_id = f"r{next(_ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send_json({**message, "id": msg_id})
        async with asyncio.timeout(timeout_s):
            return await future

    async def event(self, *names: str, timeout_s: float = 10.0) -> dict[str, Any]:
        """The next pushed event whose name is one of ``names`` (others are skipped)."""
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.events.get()
                if not names or message["event"] in names:
                    return message

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


class Phone:
    """A WebRTC audio peer: sends a tone (or silence) and DTMF, keeps what it hears."""

    def __init__(self, tone_hz: float | None = None) -> None:
        self.tone_hz = tone_hz
        self.pc: RTCPeerConnection | None = None
        self.track: SignalTrack | None = None
        self.receiver = Receiver()
        self._channel: Any = None
        self._next: tuple[RTCPeerConnection, SignalTrack, Any] | None = None  # prepared for a re-join

    async def prepare(self) -> None:
        """Make the next peer connection and its offer now, while central says where the call
        is (re-joining in parallel with central's move); :meth:`connect` then only sends it."""
        if self._next is None:
            self._next = await self._new_peer()

    async def _new_peer(self) -> tuple[RTCPeerConnection, SignalTrack, Any]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        track = SignalTrack(self.tone_hz)
        pc.addTransceiver(track, direction="sendrecv")
        channel = pc.createDataChannel("dtmf")
        await pc.setLocalDescription(await pc.createOffer())
        return pc, track, channel

    async def connect(self, sig: Signalling, *, timeout_s: float = 15.0) -> None:
        """Negotiate a new peer connection (the prepared one, if any); the previous one is
        closed only afterwards (make before break): the site replaces our leg on the new offer,
        so the old leg's end is not taken for the caller hanging up."""
        prepared, self._next = self._next, None
        pc, track, channel = prepared or await self._new_peer()
        old, self.pc, self.track, self._channel = self.pc, pc, track, channel
        try:
            pc.on("track", self.receiver.attach)
            reply = await sig.request({"type": "offer", "sdp": pc.localDescription.sdp}, timeout_s=timeout_s)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
            async with asyncio.timeout(timeout_s):
                while pc.connectionState != "connected":
                    if pc.connectionState in ("failed", "closed"):
                        raise ClientError("media.failed", f"peer connection {pc.connectionState}")
                    await asyncio.sleep(0.02)
        finally:
            if old is not None:
                await old.close()

    def send_tones(self, digits: str) -> None:
        if self.track is not None:
            self.track.play(dtmf_samples(digits))

    def send_datachannel(self, digits: str) -> bool:
        if self._channel is not None and self._channel.readyState == "open":
            for digit in digits:
                self._channel.send(digit)
            return True
        return False

    async def close(self) -> None:
        await self.receiver.stop()
        if self._next is not None:
            await self._next[0].close()
            self._next = None
        if self.pc is not None:
            await self.pc.close()
            self.pc = None


class _Reconnecting:
    """Shared by customer and agent: keeps a signalling session, re-attaching after failures."""

    central_urls: list[str]

    def __init__(
        self, http: aiohttp.ClientSession | None, tone_hz: float | None, media: bool, ca_file: str | None = None
    ) -> None:
        self._own_http = http is None
        # https/wss: trust ca_file (or CC_TLS__CA_FILE, e.g. the demo's throw-away CA)
        self.http = http or client_session(ca_file)
        self.phone = Phone(tone_hz) if media else None
        self.sig: Signalling | None = None
        self.token = ""
        self.site: str | None = None
        self.done = False
        self.reconnects: list[float] = []  # seconds from losing the site to being back
        self.reattached = asyncio.Event()  # set at the first re-attach after losing the site
        # time.monotonic() of each step of the latest re-attach (lost, located, joined, media,
        # failed attempts): where a failover's time goes, for benchmarks and logs
        self.reattach_steps: dict[str, float] = {}
        self._watch: asyncio.Task[None] | None = None
        self.on_attached: Callable[[], Awaitable[None]] | None = None

    async def _attach(self, ws_url: str) -> dict[str, Any]:
        if self.sig is not None:
            await self.sig.close()
        self.sig = Signalling(self.http, ws_url)
        joined = await self.sig.connect(self.token)
        self.reattach_steps["joined"] = time.monotonic()
        if self.phone is not None:
            try:
                await self.phone.connect(self.sig)
            except (ClientError, TimeoutError):
                await self.phone.connect(self.sig)  # one more offer: a first ICE check can be lost
        else:
            await self._without_media(self.sig)
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._keep_attached(), name="client-reattach")
        return joined

    async def _central(self, path: str, body: dict[str, Any], *, patience_s: float = 10.0) -> dict[str, Any]:
        """Ask any central replica; while none can answer (a leader election, a busy leader, a
        move still pending) keep trying the replicas for up to ``patience_s``. Central's
        reconnect answers wait for the move themselves: a retry follows at once or after the
        ``retry_after_s`` it names."""
        last: Exception | None = None
        pause = 0.25
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience_s
        while True:
            for url in self.central_urls:
                try:
                    return await post_json(self.http, url + path, body)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = exc
                except ClientError as exc:
                    if exc.status is None or exc.status < 500:
                        raise
                    last = exc
                    if exc.retry_after_s is not None:
                        pause = min(exc.retry_after_s, 1.0)
            if loop.time() >= deadline:
                raise ClientError("central.unreachable", f"no central replica answered: {last}")
            await asyncio.sleep(pause)

    async def _relocate(self) -> str:
        raise AssertionError("subclasses say where to go")

    async def _without_media(self, sig: Signalling) -> None:
        """Joined with ``media=False``: nothing to negotiate (customers say ``no_media``)."""

    async def _keep_attached(self) -> None:
        while not self.done:
            assert self.sig is not None
            sig = self.sig
            moved = asyncio.create_task(sig.closed.wait())
            await moved
            if self.done:
                return
            lost_at = time.monotonic()
            self.reattach_steps = {"lost": lost_at}
            preparing = None if self.phone is None else asyncio.create_task(self.phone.prepare(), name="client-prepare")
            try:
                while not self.done:
                    try:
                        ws_url = await self._relocate()
                        self.reattach_steps["located"] = time.monotonic()
                        if preparing is not None:  # the offer made while central moved the call
                            with contextlib.suppress(Exception):
                                await preparing
                            preparing = None
                        await self._attach(ws_url)
                        self.reattach_steps["media"] = time.monotonic()
                        self.reconnects.append(time.monotonic() - lost_at)
                        self.reattached.set()
                        if self.on_attached is not None:
                            await self.on_attached()
                        break
                    except (ClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                        _log.info("re-attach failed (%s); retrying", exc)
                        self.reattach_steps[f"failed-{len(self.reattach_steps)}"] = time.monotonic()
                        await asyncio.sleep(0.1)
            finally:
                if preparing is not None:
                    preparing.cancel()
                    await asyncio.gather(preparing, return_exceptions=True)

    async def close(self) -> None:
        self.done = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        if self.sig is not None:
            await self.sig.close()
        if self.phone is not None:
            await self.phone.close()
        if self._own_http:
            await self.http.close()


class CustomerClient(_Reconnecting):
    def __init__(
        self,
        central_urls: str | list[str],
        *,
        caller: str,
        dialled: str,
        tone_hz: float | None = None,
        media: bool = True,
        http: aiohttp.ClientSession | None = None,
        customer_token: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        super().__init__(http, tone_hz, media, ca_file)
        self.central_urls = [central_urls] if isinstance(central_urls, str) else list(central_urls)
        self.caller = caller
        self.dialled = dialled
        self.customer_token = customer_token
        self.call_id = ""
        self.route: dict[str, Any] = {}
        self.route_fields: dict[str, Any] = {}  # more fields of the route request (the SIP edge's token)

    async def call(self) -> dict[str, Any]:
        """Route the call, then join its site (signalling, and WebRTC unless ``media=False``)."""
        await self.route_call()
        return await self.join()

    async def route_call(self) -> dict[str, Any]:
        # the request id makes retries idempotent: a route request is never routed twice
        body: dict[str, Any] = {"caller": self.caller, "dialled": self.dialled, "request_id": uuid.uuid4().hex}
        if self.customer_token:
            body["customer_token"] = self.customer_token
        body.update(self.route_fields)
        self.route = await self._central("/v1/calls", body)
        self.call_id, self.token, self.site = self.route["call_id"], self.route["token"], self.route["site"]
        return self.route

    async def join(self) -> dict[str, Any]:
        try:
            return await self._attach(self.route["ws_url"])
        except ClientError as exc:
            if exc.error_id != "call.not_here":
                raise
            return await self._attach(await self._relocate())  # moved before we joined: follow it

    async def _relocate(self) -> str:
        while True:
            try:
                answer = await self._central(f"/v1/calls/{self.call_id}/reconnect", {"token": self.token})
            except ClientError as exc:
                if exc.error_id in ("call.moving",):
                    await asyncio.sleep(0.2)
                    continue
                if exc.error_id in ("call.unknown", "call.ended"):
                    self.done = True
                raise
            if answer["site"] == self.site and self.sig is not None and not self.sig.closed.is_set():
                await asyncio.sleep(0.2)
                continue
            self.token, self.site = answer["token"], answer["site"]
            return str(answer["ws_url"])

    async def press(self, digits: str, *, how: str = "tones") -> None:
        """Dial digits: in-band tones (default), the data channel, or signalling."""
        if how == "tones" and self.phone is not None:
            self.phone.send_tones(digits)
            await asyncio.sleep(0.2 * len(digits))
        elif how == "datachannel" and self.phone is not None and await self._datachannel(digits):
            return
        else:
            assert self.sig is not None
            await self.sig.request({"type": "digits", "digits": digits})

    async def _datachannel(self, digits: str, wait_s: float = 3.0) -> bool:
        """Send over the data channel, waiting a moment for it to open: keys sent meanwhile by
        signalling could overtake keys sent later over the channel (order matters)."""
        assert self.phone is not None
        deadline = asyncio.get_running_loop().time() + wait_s
        while not self.phone.send_datachannel(digits):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def ask_callback(self) -> None:
        assert self.sig is not None
        await self.sig.request({"type": "callback"})

    async def hangup(self, *, timeout_s: float = 5.0) -> bool:
        """Hang up; if the site went away meanwhile, hang up where the call is now.
        Returns True once a site took the hang-up (or the call was already over)."""
        self.done = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        for _ in range(3):
            if self.sig is not None and not self.sig.closed.is_set():
                try:
                    await self.sig.request({"type": "hangup"}, timeout_s=timeout_s)
                    return True
                except ClientError as exc:
                    if exc.error_id != "signalling.closed":
                        return exc.error_id in ("call.unknown", "call.not_here")
                except TimeoutError:
                    pass
            try:
                ws_url = await self._relocate()
            except ClientError as exc:
                return exc.error_id in ("call.unknown", "call.ended")
            if self.sig is not None:
                await self.sig.close()
            self.sig = Signalling(self.http, ws_url)
            with contextlib.suppress(ClientError, TimeoutError, aiohttp.ClientError, OSError):
                await self.sig.connect(self.token)
        return False

    async def _without_media(self, sig: Signalling) -> None:
        """A media-less caller: the site runs the call on a media-less leg; digits by signalling."""
        await sig.request({"type": "no_media"})


class AgentClient(_Reconnecting):
    def __init__(
        self,
        site_url: str,
        agent_id: str,
        password: str,
        *,
        central_urls: str | list[str] | None = None,
        tone_hz: float | None = None,
        media: bool = True,
        http: aiohttp.ClientSession | None = None,
        ca_file: str | None = None,
    ) -> None:
        super().__init__(http, tone_hz, media, ca_file)
        self.site_url = site_url
        self.agent_id = agent_id
        self._password = password
        self.central_urls = (
            [] if central_urls is None else ([central_urls] if isinstance(central_urls, str) else list(central_urls))
        )
        self.profile: dict[str, Any] = {}

    async def login(self) -> dict[str, Any]:
        answer = await post_json(
            self.http, self.site_url + "/v1/agents/login", {"agent_id": self.agent_id, "password": self._password}
        )
        self._password = ""  # not kept: re-attach uses the token
        self.token, self.profile = answer["token"], answer["agent"]
        ws_url = self.site_url.replace("http", "ws", 1) + "/ws"
        return await self._attach(ws_url)

    async def _relocate(self) -> str:
        answer = await self._central("/v1/agents/reattach", {"token": self.token})
        self.token, self.site = answer["token"], answer["site"]
        if not answer.get("ws_url"):
            raise ClientError("route.no_site", "no site to re-attach to yet")
        return str(answer["ws_url"])

    async def command(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.sig is not None
        return await self.sig.request(message)

    async def ready(self) -> None:
        await self.command({"type": "agent_state", "state": "ready"})

    async def not_ready(self, reason: str) -> None:
        await self.command({"type": "agent_state", "state": "not_ready", "reason": reason})

    async def wait_ringing(self, timeout_s: float = 20.0) -> dict[str, Any]:
        assert self.sig is not None
        return (await self.sig.event("ringing", timeout_s=timeout_s))["data"]

    async def answer(self, call_id: str) -> None:
        await self.command({"type": "answer_call", "call_id": call_id})

    async def hangup(self) -> None:
        await self.command({"type": "hangup"})

    async def wrap_up(self, code: str, notes: str = "", *, end: bool = True) -> None:
        await self.command({"type": "wrap_up", "code": code, "notes": notes, "end": end})
