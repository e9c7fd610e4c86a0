"""The one place that reaches into aiortc's and aioice's private details.

aiortc decodes every received frame in a thread per track and re-encodes whatever a sender
track returns. The switch forwards encoded frames instead, so it needs three things aiortc does
not expose publicly:

* the encoded frames of an :class:`~aiortc.RTCRtpReceiver` *before* decoding: we replace the
  receiver's jitter buffer (audio: one RTP packet is one frame; forwarding must not add aiortc's
  four-packet prefetch, the far end has its own jitter buffer) and its decoder queue (frames are
  handed to our sink; aiortc's decoder thread then idles);
* the codec a transceiver negotiated (``transceiver._codecs``);
* the host addresses aioice offers as ICE candidates (it skips 127.0.0.1);
* the RTCP report interval (:func:`set_rtcp_interval`): aiortc reports every 0.5-1.5 s, a
  browser every 5 s for audio (RFC 3550's recommended minimum); at a few hundred legs those
  reports were a quarter of the switch's CPU;
* the packet path (:class:`SrtpPath`): SRTP packets taken from aioice's connection before they
  are queued for aiortc's DTLS task, unprotected with the transport's libsrtp session (the
  keys DTLS derived), and outgoing RTP protected with it and written to the nominated
  candidate pair's socket -- no aiortc packet objects, queues or tasks per packet. aiortc keeps
  DTLS, SRTCP and its RTCP tasks: the receiver's reports are fed with what the path received
  (its ``StreamStatistics``), the sender's reports with what the path sent (packet and octet
  counts, the last RTP timestamp and its NTP time), so RR and SR describe the real streams.

Without the packet path, sending needs no internals: an ``RTCRtpSender`` accepts ``av.Packet``
frames from its track and only calls the codec's ``pack()``.

aiortc is pinned (``==1.16.0``); :func:`check_compatibility` runs when a switch starts and in
``tests/media/test_aiortc_internals.py``, and fails loudly when any of these details moved.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
import queue
import random as _random
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
import aiortc
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pylibsrtp
from aiortc import RTCDtlsTransport, RTCIceTransport, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import get_encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics

from site_node.media.errors import IncompatibleAiortc
from site_node.media.rtp_stream import SEQ_TS_SSRC as _SEQ_TS_SSRC

logger = logging.getLogger(__name__)

SUPPORTED_AIORTC = "1.16.0"
JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"
STREAMS_ATTR = "_RTCRtpReceiver__remote_streams"
SENDER_NTP_ATTR = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TS_ATTR = "_RTCRtpSender__rtp_timestamp"
SENDER_OCTETS_ATTR = "_RTCRtpSender__octet_count"
SENDER_PACKETS_ATTR = "_RTCRtpSender__packet_count"
NTP_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01

# (codec name, encoded frame, RTP timestamp relative to the first frame) -> None
EncodedSink = Callable[[str, bytes, int], None]

# Source fragments whose presence proves the hooks above still work.
_EXPECTED_SOURCE: dict[Callable[..., Any], tuple[str, ...]] = {
    RTCRtpReceiver.__init__: (
        "self.__jitter_buffer = JitterBuffer(capacity=16, prefetch=4)",
        "self.__decoder_queue: queue.Queue = queue.Queue()",
        "self.__decoder_thread: Optional[threading.Thread] = None",
        "self.__remote_streams: dict[int, StreamStatistics] = {}",
    ),
    RTCRtpReceiver._handle_rtp_packet: (
        "self.__jitter_buffer.add(packet)",
        "self.__decoder_queue.put((codec, encoded_frame))",
        "packet._data = depayload(codec, packet.payload)",
        "encoded_frame.timestamp = self.__timestamp_mapper.map(",
        "self.__remote_streams[packet.ssrc] = StreamStatistics(codec.clockRate)",
        "self.__remote_streams[packet.ssrc].add(packet)",
    ),
    RTCRtpReceiver.receive: ("self.__decoder_queue,",),
    RTCRtpSender._next_encoded_frame: ("self.__encoder.pack(data)", "isinstance(data, Frame)"),
    aioice.ice.Connection.gather_candidates: ("get_host_addresses(",),
    # the packet path
    aioice.ice.StunProtocol.datagram_received: ("self.receiver.data_received(data, self.local_candidate.component)",),
    aioice.ice.Connection.data_received: ("self._queue.put_nowait((data, component))",),
    aioice.ice.Connection.sendto: (
        "active_pair = self._nominated.get(component)",
        "await active_pair.protocol.send_data(data, active_pair.remote_addr)",
    ),
    aioice.ice.StunProtocol.send_data: ("self.transport.sendto(data, addr)",),
    RTCIceTransport.__init__: ("self._connection = gatherer._connection",),
    RTCDtlsTransport.__init__: ("self._rx_srtp: Session = None", "self._tx_srtp: Session = None"),
    RTCDtlsTransport._recv_next: ("data = self._rx_srtp.unprotect(data)", "if is_rtcp(data):"),
    RTCRtpReceiver._run_rtcp: (
        "for ssrc, stream in self.__remote_streams.items():",
    ),
    RTCRtpSender._run_rtcp: (
        "ntp_timestamp=self.__ntp_timestamp",
        "rtp_timestamp=self.__rtp_timestamp",
        "packet_count=self.__packet_count & 0xFFFFFFFF",
        "octet_count=self.__octet_count & 0xFFFFFFFF",
    ),
}


def check_compatibility() -> None:
    """Raise :class:`IncompatibleAiortc` unless the internals used here are as expected."""
    if aiortc.__version__ != SUPPORTED_AIORTC:
        raise IncompatibleAiortc(
            f"aiortc {aiortc.__version__} is installed; the switch supports {SUPPORTED_AIORTC} only",
            installed=aiortc.__version__,
        )
    for function, fragments in _EXPECTED_SOURCE.items():
        source = inspect.getsource(function)
        for fragment in fragments:
            if fragment not in source:
                raise IncompatibleAiortc(
                    f"{function.__qualname__} no longer contains {fragment!r}",
                    function=function.__qualname__,
                )
    for module in (aiortc.rtcrtpsender, aiortc.rtcrtpreceiver):
        source = inspect.getsource(module)
        if source.count("random.") != 1 or _RTCP_SLEEP not in source:
            raise IncompatibleAiortc(f"{module.__name__} no longer uses random only for its RTCP interval")
    params = list(inspect.signature(aioice.ice.get_host_addresses).parameters)
    if params != ["use_ipv4", "use_ipv6"]:
        raise IncompatibleAiortc(f"aioice.ice.get_host_addresses takes {params}")
    for mime in ("audio/opus", "audio/PCMU", "audio/PCMA"):
        codec = RTCRtpCodecParameters(mimeType=mime, clockRate=8000, payloadType=0)
        if not callable(getattr(get_encoder(codec), "pack", None)):
            raise IncompatibleAiortc(f"the {mime} encoder has no pack()")


class _PassThroughBuffer:
    """Audio "jitter buffer" that releases every new packet at once (one packet = one frame)."""

    def __init__(self) -> None:
        self._last_seq: int | None = None

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        seq = int(packet.sequence_number)
        if self._last_seq is not None:
            delta = (seq - self._last_seq) & 0xFFFF
            if delta == 0 or delta >= 0x8000:  # duplicate or late: the far end conceals it
                return False, None
        self._last_seq = seq
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)


class _TapQueue:
    """Stands in for the receiver's decoder queue: frames go to our sink, not the decoder."""

    def __init__(self, original: queue.Queue[Any], sink: EncodedSink) -> None:
        self._original = original
        self._sink = sink

    def put(self, item: Any) -> None:
        if item is None:  # the receiver stops its decoder thread this way
            self._original.put(None)
            return
        codec, frame = item
        try:
            self._sink(codec.name, frame.data, frame.timestamp)
        except Exception:  # a bug in a sink must not kill aiortc's datagram handling
            logger.exception("encoded frame sink failed")

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._original.get(*args, **kwargs)


def tap_receiver(receiver: RTCRtpReceiver, sink: EncodedSink) -> None:
    """Deliver the receiver's encoded audio frames to ``sink`` instead of decoding them.

    Must be called before the receiver starts (i.e. before the answer is applied).
    """
    if getattr(receiver, THREAD_ATTR) is not None:
        raise IncompatibleAiortc("the receiver was already started; tap it before negotiation")
    original = getattr(receiver, QUEUE_ATTR)
    if not isinstance(original, queue.Queue):
        raise IncompatibleAiortc("RTCRtpReceiver's decoder queue is not a queue.Queue")
    setattr(receiver, JITTER_ATTR, _PassThroughBuffer())
    setattr(receiver, QUEUE_ATTR, _TapQueue(original, sink))


def negotiated_codec(transceiver: RTCRtpTransceiver) -> tuple[str, int]:
    """Name and RTP clock rate of the codec the transceiver sends with."""
    codecs: list[RTCRtpCodecParameters] = getattr(transceiver, "_codecs", [])
    for codec in codecs:
        if codec.name.lower() != "rtx":
            return codec.name, codec.clockRate
    raise IncompatibleAiortc("transceiver has no negotiated codec")


_RTCP_SLEEP = "await asyncio.sleep(0.5 + random.random())"


class _RtcpInterval:
    """Stands in for the ``random`` module of aiortc's sender and receiver modules, whose one
    use is their RTCP loop's ``sleep(0.5 + random.random())``: the sleep becomes
    ``interval * [0.5, 1.5)`` (RFC 3550's randomisation around the interval)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s

    def random(self) -> float:
        return self.interval_s * (0.5 + _random.random()) - 0.5


def set_rtcp_interval(interval_s: float) -> None:
    """Process-wide mean interval of aiortc's sender and receiver reports (1.0: aiortc's own)."""
    if interval_s < 1.0:
        raise ValueError("the RTCP interval must be at least 1 s")
    for module in (aiortc.rtcrtpsender, aiortc.rtcrtpreceiver):
        module.random = _random if interval_s == 1.0 else _RtcpInterval(interval_s)  # type: ignore[attr-defined]


_original_get_host_addresses = aioice.ice.get_host_addresses


def install_host_addresses(addresses: list[str]) -> None:
    """Make aioice offer exactly ``addresses`` as host candidates (empty: aioice's default).

    Process-wide (aioice reads a module global); every switch of a process shares one config.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _original_get_host_addresses
        return
    parsed = [ipaddress.ip_address(address) for address in addresses]

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            str(address)
            for address in parsed
            if (address.version == 4 and use_ipv4) or (address.version == 6 and use_ipv6)
        ]

    aioice.ice.get_host_addresses = get_host_addresses


def codec_payload_types(transceiver: RTCRtpTransceiver) -> dict[int, str]:
    """Negotiated payload type -> codec name (RTX left out)."""
    codecs: list[RTCRtpCodecParameters] = getattr(transceiver, "_codecs", [])
    return {
        codec.payloadType: codec.name
        for codec in codecs
        if codec.name.lower() != "rtx" and codec.payloadType is not None
    }


class _Seen:
    """What :class:`StreamStatistics` reads of a packet (instead of a parsed ``RtpPacket``)."""

    __slots__ = ("sequence_number", "timestamp")

    def __init__(self) -> None:
        self.sequence_number = 0
        self.timestamp = 0


# (plain RTP packet, payload type, sequence number, timestamp) -> None
RtpSink = Callable[[bytes, int, int, int], None]


class SrtpPath:
    """Raw SRTP in and out of one transceiver, on the event loop, one call per packet.

    Install after the remote description is applied (BUNDLE has then chosen the transport)
    and before ICE connects; :meth:`close` puts aioice's handlers back. The first SRTP packet
    arrives through the ICE connection's ``data_received`` (after aioice tried to parse it as
    STUN); from then on the nominated pair's socket protocol hands datagrams straight to the
    path. Received SRTP goes to ``on_rtp`` as plain RTP; everything else (STUN, DTLS, SRTCP)
    takes aioice's and aiortc's usual path. :meth:`send` protects and sends one plain RTP packet
    with the sender's SSRC; it returns False while DTLS has no keys yet or ICE no pair.
    """

    def __init__(self, transceiver: RTCRtpTransceiver, on_rtp: RtpSink, clock_rate: int) -> None:
        receiver, sender = transceiver.receiver, transceiver.sender
        self._dtls: RTCDtlsTransport = receiver.transport
        self._connection: aioice.ice.Connection = self._dtls.transport._connection
        self._streams: dict[int, StreamStatistics] = getattr(receiver, STREAMS_ATTR)
        self._sender_state: dict[str, Any] = vars(sender)
        self.ssrc: int = sender._ssrc
        self._clock_rate = clock_rate
        self._on_rtp = on_rtp
        self._seen = _Seen()
        self._rx: pylibsrtp.Session | None = None
        self._tx: pylibsrtp.Session | None = None
        self._octets = 0
        self._packets = 0
        self.received = 0
        self.unprotect_failures = 0
        self._closed = False
        self._hooked: list[tuple[aioice.ice.StunProtocol, Callable[[bytes, Any], None]]] = []
        self._original = self._connection.data_received
        self._connection.data_received = self._data_received  # type: ignore[method-assign]

    def close(self) -> None:
        self._closed = True
        if vars(self._connection).get("data_received") == self._data_received:
            del self._connection.data_received  # the class's method again
        for protocol, handler in self._hooked:
            if vars(protocol).get("datagram_received") is handler:
                del protocol.datagram_received

    # ------------------------------------------------------------ in
    def _data_received(self, data: bytes, component: int) -> None:
        """Via aioice (a STUN parse attempted first); then moves the hook to the socket."""
        if not self._srtp(data):
            self._original(data, component)
            return
        pair = self._connection._nominated.get(component)
        if pair is not None and all(protocol is not pair.protocol for protocol, _ in self._hooked):
            self._hook(pair.protocol)

    def _hook(self, protocol: aioice.ice.StunProtocol) -> None:
        original = protocol.datagram_received
        srtp = self._srtp

        def datagram_received(data: bytes, addr: Any) -> None:
            if not srtp(data):
                original(data, addr)

        protocol.datagram_received = datagram_received  # type: ignore[method-assign,assignment]
        self._hooked.append((protocol, datagram_received))

    def _srtp(self, data: bytes) -> bool:
        if len(data) < 12 or not (127 < data[0] < 192) or 191 < data[1] < 209:  # not RTP, or SRTCP
            return False
        rx = self._rx
        if rx is None:
            rx = self._rx = self._dtls._rx_srtp
            if rx is None:
                return False
        try:
            plain = rx.unprotect(data)
        except pylibsrtp.Error:
            self.unprotect_failures += 1
            return True
        self.received += 1
        seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(plain, 2)
        stream = self._streams.get(ssrc)
        if stream is None:
            stream = self._streams[ssrc] = StreamStatistics(self._clock_rate)
        seen = self._seen
        seen.sequence_number, seen.timestamp = seq, ts
        stream.add(seen)  # type: ignore[arg-type]  # what the receiver's RR reports
        self._on_rtp(plain, plain[1] & 0x7F, seq, ts)
        return True

    # ------------------------------------------------------------ out
    def send(self, packet: bytes, rtp_timestamp: int, payload_len: int) -> bool:
        tx = self._tx
        if tx is None:
            if self._closed:
                return False
            tx = self._tx = self._dtls._tx_srtp
            if tx is None:
                return False
        pair = self._connection._nominated.get(1)
        if pair is None:
            return False
        pair.protocol.transport.sendto(tx.protect(packet), pair.remote_addr)
        self._packets += 1
        self._octets += payload_len
        state = self._sender_state  # what the sender's next SR says
        state[SENDER_NTP_ATTR] = int((time.time() + NTP_OFFSET_S) * 4294967296.0)
        state[SENDER_RTP_TS_ATTR] = rtp_timestamp
        state[SENDER_PACKETS_ATTR] = self._packets
        state[SENDER_OCTETS_ATTR] = self._octets
        return True
