"""A carrier's caller in Python, for what SIPp cannot assert: what the caller *hears*.

:class:`SipPhone` places one call through the trunk (Kamailio): INVITE with PCMU and
telephone-event, ACK, a steady tone as the caller's voice (20 ms RTP), keys as RFC 2833
events, BYE. It keeps every request the network sends it (a BYE, a re-INVITE: a failover test
asserts there is none), answers them 200, and decodes what it receives (8 kHz PCM in a
:class:`~webrtc_client.audio.Receiver`, so :func:`~webrtc_client.audio.hears` works on it).
The stream's arrival gaps are kept too (``longest_gap_s``).

Used by tests/sip and ``loadtests.bench_sip``; not part of the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

import numpy as np

from cluster.tasks import TaskOwner
from site_node.media.codecs import PCMU, AudioDecoder, AudioEncoder
from site_node.media.rtp_sdp import RtpMedia, build_sdp, parse_sdp
from site_node.media.rtp_wire import BadPacket, EventReceiver, RtpPacket, event_packets, parse_rtp
from site_node.sip.message import SipMessage, new_branch, new_tag, parse, response, split_list
from webrtc_client.audio import Receiver, dtmf_samples

EVENT_PT = 101
T1 = 0.5


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, handler: Any) -> None:
        self._handler = handler

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._handler(data, (str(addr[0]), int(addr[1])))


class PcmReceiver(Receiver):
    """A :class:`Receiver` fed 8 kHz PCM by hand (no aiortc track)."""

    def __init__(self, keep_s: float = 6.0) -> None:
        super().__init__(keep_s)
        self.rate = 8000

    def push(self, pcm: np.ndarray[Any, Any]) -> None:
        self._audio.append(pcm.astype(np.int16))
        self.frames += 1

    def clear(self) -> None:
        """Forget what was heard so far (only what arrives from now on counts)."""
        self._audio.clear()


class SipPhone:
    def __init__(self, trunk: tuple[str, int], *, caller: str = "+8613800000001", tone_hz: float | None = 440.0,
                 host: str = "127.0.0.1") -> None:  # fmt: skip
        self.trunk = trunk
        self.caller = caller
        self.tone_hz = tone_hz
        self.host = host
        self.call_id = secrets.token_hex(10) + "@pyphone"
        self.tag = new_tag()
        self.tasks = TaskOwner(f"phone-{self.call_id[:8]}")
        self.receiver = PcmReceiver()
        self.requests: list[SipMessage] = []  # what the network asked of us (BYE, re-INVITE...)
        self.responses: list[int] = []  # the status of every response to our INVITE
        self.digits_heard = ""  # RFC 2833 keys the network sent us
        self.status = 0
        self.packets_in = 0
        self.packets_out = 0
        self.longest_gap_s = 0.0
        self.bye_received = asyncio.Event()
        self._sip: asyncio.DatagramTransport | None = None
        self._rtp: asyncio.DatagramTransport | None = None
        self._pending: dict[str, asyncio.Queue[SipMessage]] = {}
        self._cseq = 1
        self._number = ""
        self._remote_tag = ""
        self._routes: list[str] = []
        self._target = ""
        self._remote_media: RtpMedia | None = None
        self._keys: list[str] = []
        self._pcm = np.zeros(0, np.int16)  # in-band samples to play before the voice
        self._events = EventReceiver()
        self._decoder = AudioDecoder(PCMU, output_rate=8000)
        self._last_in: float | None = None
        self.invite_sent_at = 0.0
        self.answered_at = 0.0

    # ---- sockets -----------------------------------------------------------------------------
    async def open(self) -> SipPhone:
        loop = asyncio.get_running_loop()
        self._sip, _ = await loop.create_datagram_endpoint(lambda: _Socket(self._sip_in), local_addr=(self.host, 0))
        self._rtp, _ = await loop.create_datagram_endpoint(lambda: _Socket(self._rtp_in), local_addr=(self.host, 0))
        return self

    @property
    def remote_media(self) -> RtpMedia | None:
        """Where the network said to send our RTP (the 200 OK's SDP)."""
        return self._remote_media

    @property
    def sip_port(self) -> int:
        assert self._sip is not None
        return int(self._sip.get_extra_info("sockname")[1])

    @property
    def rtp_port(self) -> int:
        assert self._rtp is not None
        return int(self._rtp.get_extra_info("sockname")[1])

    def _send(self, message: SipMessage) -> None:
        assert self._sip is not None
        self._sip.sendto(message.to_bytes(), self.trunk)  # everything goes through the proxy

    # ---- SIP ---------------------------------------------------------------------------------
    def _request(self, method: str, uri: str, *, body: str = "", cseq: int | None = None,
                 branch: str | None = None) -> SipMessage:  # fmt: skip
        to = f"<sip:{self._number}@{self.trunk[0]}:{self.trunk[1]}>"
        if self._remote_tag:
            to += f";tag={self._remote_tag}"
        headers = [
            ("via", f"SIP/2.0/UDP {self.host}:{self.sip_port};branch={branch or new_branch()};rport"),
            ("max-forwards", "70"), ("from", f"<sip:{self.caller}@{self.host}:{self.sip_port}>;tag={self.tag}"),
            ("to", to), ("call-id", self.call_id), ("cseq", f"{cseq or self._cseq} {method}"),
            ("contact", f"<sip:phone@{self.host}:{self.sip_port}>"),
        ]  # fmt: skip
        headers += [("route", r) for r in self._routes]
        if body:
            headers.append(("content-type", "application/sdp"))
        return SipMessage(method, uri=uri, headers=headers, body=body)

    async def _transaction(self, message: SipMessage, *, timeout_s: float) -> SipMessage | None:
        """Send (retransmitting until any response), return the final response or None."""
        queue: asyncio.Queue[SipMessage] = asyncio.Queue()
        self._pending[message.branch] = queue
        interval, got_provisional = T1, False
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    if not got_provisional:
                        self._send(message)
                    try:
                        async with asyncio.timeout(interval):
                            reply = await queue.get()
                    except TimeoutError:
                        interval = min(2 * interval, 4.0)
                        continue
                    if message.method == "INVITE":
                        self.responses.append(reply.status)
                    if reply.status >= 200:
                        return reply
                    got_provisional = True
                    interval = 1.0
        except TimeoutError:
            return None
        finally:
            self._pending.pop(message.branch, None)

    def _sdp(self, direction: str = "sendrecv") -> str:
        return build_sdp(RtpMedia(self.host, self.rtp_port, ((0, "PCMU"),), EVENT_PT, direction), name="pyphone")

    async def call(self, number: str, *, timeout_s: float = 20.0) -> int:
        """INVITE ``number``; on 200 the ACK and the caller's voice start. The final status."""
        self._number = number
        self.invite_sent_at = time.monotonic()
        invite = self._request("INVITE", f"sip:{number}@{self.trunk[0]}:{self.trunk[1]}", body=self._sdp())
        reply = await self._transaction(invite, timeout_s=timeout_s)
        self.status = reply.status if reply is not None else 408
        if reply is None:
            return self.status
        self._remote_tag = _tag(reply.get("to") or "")
        if reply.status >= 300:
            self._ack(reply, invite)
            return reply.status
        self.answered_at = time.monotonic()
        self._routes = [r for value in reversed(reply.all("record-route")) for r in reversed(split_list(value))]
        self._target = _uri(reply.get("contact") or "")
        self._remote_media = parse_sdp(reply.body)
        self._ack(reply, invite)
        self.tasks.spawn(self._voice(), "voice")
        return reply.status

    def _ack(self, reply: SipMessage, invite: SipMessage) -> None:
        if reply.status >= 300:  # the same transaction's ACK (hop by hop)
            ack = self._request("ACK", invite.uri, cseq=1, branch=invite.branch)
            ack.headers = [(k, v) for k, v in ack.headers if k != "to"] + [("to", reply.get("to") or "")]
        else:
            ack = self._request("ACK", self._target, cseq=1)
        self._send(ack)

    async def reinvite(self, direction: str, *, timeout_s: float = 10.0) -> SipMessage | None:
        """A re-INVITE in the dialog (``sendonly``: hold; ``sendrecv``: resume); ACKed."""
        self._cseq += 1
        message = self._request("INVITE", self._target, body=self._sdp(direction))
        reply = await self._transaction(message, timeout_s=timeout_s)
        if reply is not None and reply.status < 300:
            self._send(self._request("ACK", self._target, cseq=self._cseq))
        return reply

    async def hangup(self, *, timeout_s: float = 10.0) -> int:
        """BYE; the status of its answer (0 if none)."""
        await self.tasks.stop()
        self._cseq += 1
        reply = await self._transaction(self._request("BYE", self._target), timeout_s=timeout_s)
        return reply.status if reply is not None else 0

    def _sip_in(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = parse(data)
        except Exception:
            return
        if message.method is None:
            queue = self._pending.get(message.branch)
            if queue is not None:
                queue.put_nowait(message)
            elif message.status == 200 and message.cseq[1] == "INVITE":  # a retransmitted 200: ACK again
                self._send(self._request("ACK", self._target, cseq=message.cseq[0]))
            return
        if message.method == "ACK":
            return
        self.requests.append(message)
        body = self._sdp() if message.method == "INVITE" else ""
        assert self._sip is not None
        self._sip.sendto(response(message, 200, body=body).to_bytes(), addr)
        if message.method == "BYE":
            self.bye_received.set()

    # ---- RTP ---------------------------------------------------------------------------------
    def press(self, keys: str) -> None:
        """Keys as RFC 2833 telephone-events (100 ms each, 100 ms apart), in the voice's stead."""
        self._keys.extend(keys)

    def tones(self, keys: str) -> None:
        """Keys as in-band DTMF in the PCMU audio (100 ms each, 100 ms apart)."""
        self._pcm = np.concatenate([self._pcm, dtmf_samples(keys)[::6]])  # 48 kHz -> 8 kHz (tones far below 4 kHz)

    async def _voice(self) -> None:
        assert self._rtp is not None and self._remote_media is not None
        encoder = AudioEncoder(PCMU, input_rate=8000)
        ssrc, seq, ts = secrets.randbits(32), secrets.randbits(16), secrets.randbits(32)
        dest = (self._remote_media.host, self._remote_media.port)
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        key_frames: list[tuple[int, bytes, bool]] = []
        while True:
            if not key_frames and self._keys:
                key = self._keys.pop(0)
                events = event_packets(key)
                key_frames = [(EVENT_PT, e.to_bytes(), i == 0) for i, e in enumerate(events)]
                key_frames += [(-1, b"", False)] * 5  # 100 ms of silence after the key
                key_ts = ts
            if key_frames:
                pt, payload, marker = key_frames.pop(0)
                if pt == EVENT_PT:
                    packet = RtpPacket(pt, seq, key_ts, ssrc, payload, marker)
                else:
                    packet = RtpPacket(0, seq, ts, ssrc, encoder.encode(np.zeros(160, np.int16))[0])
            elif len(self._pcm):
                chunk, self._pcm = self._pcm[:160], self._pcm[160:]
                pcm = np.zeros(160, np.int16)
                pcm[: len(chunk)] = chunk
                packet = RtpPacket(0, seq, ts, ssrc, encoder.encode(pcm)[0])
            else:
                t = (n * 160 + np.arange(160)) / 8000
                pcm = (9000 * np.sin(2 * np.pi * (self.tone_hz or 0) * t)).astype(np.int16) if self.tone_hz else \
                    np.zeros(160, np.int16)  # fmt: skip
                packet = RtpPacket(0, seq, ts, ssrc, encoder.encode(pcm)[0])
            self._rtp.sendto(packet.to_bytes(), dest)
            self.packets_out += 1
            seq, ts, n = (seq + 1) & 0xFFFF, (ts + 160) & 0xFFFFFFFF, n + 1
            await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))

    def _rtp_in(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packet = parse_rtp(data)
        except BadPacket:
            return
        now = time.monotonic()
        if self._last_in is not None:
            self.longest_gap_s = max(self.longest_gap_s, now - self._last_in)
        self._last_in = now
        self.packets_in += 1
        if packet.payload_type == EVENT_PT:
            with contextlib.suppress(BadPacket):
                key = self._events.key(packet)
                if key is not None:
                    self.digits_heard += key
            return
        if packet.payload_type == 0:
            self.receiver.push(self._decoder.decode(packet.payload))

    async def close(self) -> None:
        await self.tasks.stop()
        for transport in (self._sip, self._rtp):
            if transport is not None:
                transport.close()


def _tag(value: str) -> str:
    tail = value.rsplit(">", 1)[-1]
    for part in tail.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip() == "tag":
            return val.strip()
    return ""


def _uri(value: str) -> str:
    return value.split("<", 1)[1].split(">", 1)[0] if "<" in value else value.split(";", 1)[0].strip()
