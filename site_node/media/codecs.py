"""Audio codecs of the switch: encode and decode 20 ms frames of mono int16 PCM.

Internally the switch works at :data:`INTERNAL_RATE` (48 kHz mono int16, what the Opus decoder
produces). G.711 (PCMU/PCMA) is done with numpy lookup tables; Opus through PyAV's libopus.
Every encoded frame becomes an ``av.Packet`` whose ``pts``/``time_base`` are in the codec's RTP
clock, which is what aiortc's ``pack()`` expects.
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import numpy.typing as npt

INTERNAL_RATE = 48_000
FRAME_MS = 20
FRAME_SAMPLES = INTERNAL_RATE * FRAME_MS // 1000  # 960
Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class CodecSpec:
    name: str  # "opus", "PCMU", "PCMA" (SDP spelling)
    clock_rate: int  # RTP clock
    sample_rate: int  # PCM rate the codec encodes

    @property
    def frame_ticks(self) -> int:
        return self.clock_rate * FRAME_MS // 1000

    @property
    def frame_samples(self) -> int:
        return self.sample_rate * FRAME_MS // 1000

    @property
    def time_base(self) -> fractions.Fraction:
        return fractions.Fraction(1, self.clock_rate)


OPUS = CodecSpec("opus", 48_000, 48_000)
PCMU = CodecSpec("PCMU", 8_000, 8_000)
PCMA = CodecSpec("PCMA", 8_000, 8_000)
CODECS = {spec.name.lower(): spec for spec in (OPUS, PCMU, PCMA)}


def codec_by_name(name: str) -> CodecSpec:
    try:
        return CODECS[name.lower()]
    except KeyError:
        raise ValueError(f"unsupported audio codec {name!r}") from None


# ---------------------------------------------------------------- G.711 tables
def _ulaw_decode_table() -> Pcm:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> Pcm:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


def _encode_table(decode: Pcm) -> npt.NDArray[np.uint8]:
    """Nearest code for every int16 value (index = sample + 32768)."""
    order = np.argsort(decode.astype(np.int32), kind="stable")
    values = decode.astype(np.int32)[order]
    samples = np.arange(-32768, 32768, dtype=np.int32)
    pos = np.clip(np.searchsorted(values, samples), 1, len(values) - 1)
    left, right = values[pos - 1], values[pos]
    pick = np.where(samples - left <= right - samples, pos - 1, pos)
    return order[pick].astype(np.uint8)


_ULAW_DEC = _ulaw_decode_table()
_ALAW_DEC = _alaw_decode_table()
_ULAW_ENC = _encode_table(_ULAW_DEC)
_ALAW_ENC = _encode_table(_ALAW_DEC)


# ---------------------------------------------------------------- resampling
class Resampler:
    """Mono int16 rate converter (libswresample); output length varies per call."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=out_rate)
        self._pts = 0

    def process(self, pcm: Pcm) -> Pcm:
        if self.in_rate == self.out_rate:
            return pcm
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.in_rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.in_rate)
        self._pts += len(pcm)
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)


def resample_all(pcm: Pcm, in_rate: int, out_rate: int) -> Pcm:
    """Resample a whole buffer at once (prompts, music), flushing the converter."""
    if in_rate == out_rate:
        return pcm
    resampler = av.AudioResampler(format="s16", layout="mono", rate=out_rate)
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = in_rate
    frame.pts = 0
    frame.time_base = fractions.Fraction(1, in_rate)
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, np.int16)


# ---------------------------------------------------------------- encoder / decoder
class AudioEncoder:
    """Internal-rate PCM in, encoded 20 ms frames out (buffers partial frames)."""

    def __init__(self, spec: CodecSpec, *, input_rate: int = INTERNAL_RATE, bitrate: int = 32_000):
        self.spec = spec
        self._resampler = Resampler(input_rate, spec.sample_rate)
        self._pending = np.zeros(0, np.int16)
        self._ctx: Any = None
        self._pts = 0
        if spec.name == "opus":
            ctx: Any = av.CodecContext.create("libopus", "w")
            ctx.sample_rate = spec.sample_rate
            ctx.layout = "mono"
            ctx.format = "s16"
            ctx.bit_rate = bitrate
            ctx.options = {"application": "voip"}
            ctx.time_base = fractions.Fraction(1, spec.sample_rate)
            self._ctx = ctx

    def encode(self, pcm: Pcm) -> list[bytes]:
        data = self._resampler.process(pcm)
        if self._pending.size:
            data = np.concatenate([self._pending, data])
        n = self.spec.frame_samples
        count = len(data) // n
        self._pending = data[count * n :]
        return [self._encode_frame(data[i * n : (i + 1) * n]) for i in range(count)]

    def _encode_frame(self, frame_pcm: Pcm) -> bytes:
        if self.spec.name == "PCMU":
            return _ULAW_ENC[frame_pcm.astype(np.int32) + 32768].tobytes()
        if self.spec.name == "PCMA":
            return _ALAW_ENC[frame_pcm.astype(np.int32) + 32768].tobytes()
        frame = av.AudioFrame.from_ndarray(frame_pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.spec.sample_rate
        frame.pts = self._pts
        self._pts += len(frame_pcm)
        packets = self._ctx.encode(frame)
        return b"".join(bytes(p) for p in packets)


class AudioDecoder:
    """Encoded frames in, internal-rate mono int16 PCM out."""

    def __init__(self, spec: CodecSpec, *, output_rate: int = INTERNAL_RATE) -> None:
        self.spec = spec
        self._ctx: Any = None
        decoded_rate = spec.sample_rate
        if spec.name == "opus":
            ctx: Any = av.CodecContext.create("libopus", "r")
            ctx.sample_rate = INTERNAL_RATE  # libopus in PyAV always decodes at 48 kHz
            ctx.layout = "mono"
            ctx.format = "s16"
            self._ctx = ctx
            decoded_rate = INTERNAL_RATE
        self._resampler = Resampler(decoded_rate, output_rate)

    def decode(self, payload: bytes) -> Pcm:
        if self.spec.name == "PCMU":
            pcm = _ULAW_DEC[np.frombuffer(payload, np.uint8)]
        elif self.spec.name == "PCMA":
            pcm = _ALAW_DEC[np.frombuffer(payload, np.uint8)]
        else:
            try:
                frames = self._ctx.decode(av.Packet(payload))
            except av.FFmpegError:
                return np.zeros(0, np.int16)
            parts = [f.to_ndarray().reshape(-1) for f in frames]
            pcm = np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, np.int16)
        return self._resampler.process(pcm)


def encode_buffer(pcm: Pcm, input_rate: int, spec: CodecSpec) -> list[bytes]:
    """Encode a whole buffer (padded with silence to whole frames) once, for replay."""
    native = resample_all(pcm, input_rate, spec.sample_rate)
    n = spec.frame_samples
    padded = np.concatenate([native, np.zeros((-len(native)) % n, np.int16)])
    encoder = AudioEncoder(spec, input_rate=spec.sample_rate)
    return encoder.encode(padded)


# ---------------------------------------------------------------- packets
def make_packet(payload: bytes, pts: int, spec: CodecSpec) -> av.Packet:
    packet = av.Packet(payload)
    packet.pts = pts
    packet.time_base = spec.time_base
    return packet


_OPUS_FRAME_US = (10_000, 20_000, 40_000, 60_000)
_CELT_FRAME_US = (2_500, 5_000, 10_000, 20_000)


def frame_ticks(payload: bytes, spec: CodecSpec) -> int:
    """Duration of an encoded frame in RTP clock ticks (Opus: from its TOC byte)."""
    if spec.name != "opus":
        return len(payload) * spec.clock_rate // spec.sample_rate
    if not payload:
        return spec.frame_ticks
    toc = payload[0]
    config = toc >> 3
    if config < 12:
        frame_us = _OPUS_FRAME_US[config % 4]
    elif config < 16:
        frame_us = (10_000, 20_000)[config % 2]
    else:
        frame_us = _CELT_FRAME_US[config % 4]
    code = toc & 0x03
    frames = 1 if code == 0 else 2 if code in (1, 2) else (payload[1] & 0x3F if len(payload) > 1 else 1)
    return frames * frame_us * spec.clock_rate // 1_000_000
