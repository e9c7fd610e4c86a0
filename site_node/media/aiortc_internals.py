"""The one place that reaches into aiortc's and aioice's private details.

aiortc decodes every received frame in a thread per track and re-encodes whatever a sender
track returns. The switch forwards encoded frames instead, so it needs three things aiortc does
not expose publicly:

* the encoded frames of an :class:`~aiortc.RTCRtpReceiver` *before* decoding: we replace the
  receiver's jitter buffer (audio: one RTP packet is one frame; forwarding must not add aiortc's
  four-packet prefetch, the far end has its own jitter buffer) and its decoder queue (frames are
  handed to our sink; aiortc's decoder thread then idles);
* the codec a transceiver negotiated (``transceiver._codecs``);
* the host addresses aioice offers as ICE candidates (it skips 127.0.0.1).

Sending needs no internals: an ``RTCRtpSender`` accepts ``av.Packet`` frames from its track and
only calls the codec's ``pack()``. aiortc is pinned (``==1.16.0``); :func:`check_compatibility`
runs when a switch starts and in ``tests/media/test_aiortc_internals.py``, and fails loudly when
any of these details moved.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
import queue
from collections.abc import Callable
from typing import Any

import aioice.ice
import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import get_encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from site_node.media.errors import IncompatibleAiortc

logger = logging.getLogger(__name__)

SUPPORTED_AIORTC = "1.16.0"
JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"

# (codec name, encoded frame, RTP timestamp relative to the first frame) -> None
EncodedSink = Callable[[str, bytes, int], None]

# Source fragments whose presence proves the hooks above still work.
_EXPECTED_SOURCE: dict[Callable[..., Any], tuple[str, ...]] = {
    RTCRtpReceiver.__init__: (
        "self.__jitter_buffer = JitterBuffer(capacity=16, prefetch=4)",
        "self.__decoder_queue: queue.Queue = queue.Queue()",
        "self.__decoder_thread: Optional[threading.Thread] = None",
    ),
    RTCRtpReceiver._handle_rtp_packet: (
        "self.__jitter_buffer.add(packet)",
        "self.__decoder_queue.put((codec, encoded_frame))",
        "packet._data = depayload(codec, packet.payload)",
        "encoded_frame.timestamp = self.__timestamp_mapper.map(",
    ),
    RTCRtpReceiver.receive: ("self.__decoder_queue,",),
    RTCRtpSender._next_encoded_frame: ("self.__encoder.pack(data)", "isinstance(data, Frame)"),
    aioice.ice.Connection.gather_candidates: ("get_host_addresses(",),
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
