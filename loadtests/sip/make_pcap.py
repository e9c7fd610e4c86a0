"""Writes the RTP a SIPp caller plays (``play_pcap_audio``): PCMU at 20 ms, keys as RFC 2833.

    python -m loadtests.sip.make_pcap [--out loadtests/sip/caller_0.pcap] [--keys 0] [--tone-hz 440]

The stream: ``--quiet-s`` of silence (the IVR's greeting starts), each key as a telephone-event
(payload type 101, 100 ms, 100 ms apart), then ``--tone-s`` of a tone as the caller's voice
(what the agent must hear). SIPp rewrites the addresses and ports when it plays the file.
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

import numpy as np

from site_node.media.codecs import PCMU, AudioEncoder
from site_node.media.rtp_wire import RtpPacket, event_packets

EVENT_PT = 101


def rtp_stream(keys: str, *, quiet_s: float, tone_s: float, tone_hz: float) -> list[bytes]:
    encoder = AudioEncoder(PCMU, input_rate=8000)
    packets: list[bytes] = []
    seq, ts, ssrc = 1, 1000, 0x5EED

    def add(pt: int, timestamp: int, payload: bytes, marker: bool = False) -> None:
        nonlocal seq
        packets.append(RtpPacket(pt, seq, timestamp, ssrc, payload, marker).to_bytes())
        seq += 1

    silence = encoder.encode(np.zeros(160, np.int16))[0]
    for _ in range(int(quiet_s * 50)):
        add(0, ts, silence)
        ts += 160
    for key in keys:
        for i, event in enumerate(event_packets(key)):
            add(EVENT_PT, ts, event.to_bytes(), marker=i == 0)
        ts += 160 * 8
        for _ in range(5):
            add(0, ts, silence)
            ts += 160
    t = np.arange(int(tone_s * 8000)) / 8000
    tone = (9000 * np.sin(2 * np.pi * tone_hz * t)).astype(np.int16)
    for frame in encoder.encode(tone):
        add(0, ts, frame)
        ts += 160
    return packets


def write_pcap(path: Path, payloads: list[bytes], *, src: int = 6000, dst: int = 6002) -> None:
    """Ethernet/IPv4/UDP records, one every 20 ms (times are what SIPp paces the replay by)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, payload in enumerate(payloads):
        udp = struct.pack("!HHHH", src, dst, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))  # fmt: skip
        frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
        seconds, micros = divmod(i * 20_000, 1_000_000)
        out.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("caller_0.pcap"))
    parser.add_argument("--keys", default="0")
    parser.add_argument("--quiet-s", type=float, default=1.5)
    parser.add_argument("--tone-s", type=float, default=12.0)
    parser.add_argument("--tone-hz", type=float, default=440.0)
    args = parser.parse_args()
    write_pcap(args.out, rtp_stream(args.keys, quiet_s=args.quiet_s, tone_s=args.tone_s, tone_hz=args.tone_hz))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
