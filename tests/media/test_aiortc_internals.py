"""Fails loudly when the aiortc/aioice internals the switch relies on change."""

from __future__ import annotations

from typing import Any

import aioice.ice
import aiortc
import pytest
from aiortc import RTCPeerConnection

from site_node.media import aiortc_internals
from site_node.media.errors import IncompatibleAiortc


def test_pinned_version_and_hooks_present() -> None:
    assert aiortc.__version__ == aiortc_internals.SUPPORTED_AIORTC
    aiortc_internals.check_compatibility()


async def test_receiver_tap_replaces_buffer_and_queue() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("audio")
        receiver = transceiver.receiver
        seen: list[tuple[str, bytes, int]] = []
        aiortc_internals.tap_receiver(receiver, lambda *args: seen.append(args))
        buffer: Any = getattr(receiver, aiortc_internals.JITTER_ATTR)
        tap: Any = getattr(receiver, aiortc_internals.QUEUE_ATTR)

        class Packet:
            def __init__(self, seq: int) -> None:
                self.sequence_number, self.timestamp, self._data = seq, seq * 960, b"x"

        assert buffer.add(Packet(65535))[1] is not None
        assert buffer.add(Packet(0))[1] is not None  # wraps
        assert buffer.add(Packet(0))[1] is None  # duplicate
        assert buffer.add(Packet(65530))[1] is None  # late

        class Codec:
            name = "opus"

        frame = buffer.add(Packet(1))[1]
        tap.put((Codec(), frame))
        assert seen == [("opus", b"x", 960)]
    finally:
        await pc.close()


def test_version_mismatch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    with pytest.raises(IncompatibleAiortc) as info:
        aiortc_internals.check_compatibility()
    assert info.value.error_id == "media.aiortc_incompatible"


def test_host_addresses_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    aiortc_internals.install_host_addresses(["127.0.0.1", "::1"])
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]


def test_rtcp_interval_scales_aiortc_report_sleeps() -> None:
    import aiortc.rtcrtpreceiver
    import aiortc.rtcrtpsender

    try:
        aiortc_internals.set_rtcp_interval(5.0)
        for module in (aiortc.rtcrtpsender, aiortc.rtcrtpreceiver):
            sleeps = [0.5 + module.random.random() for _ in range(2000)]  # what the RTCP loop sleeps
            assert 2.5 <= min(sleeps) and max(sleeps) < 7.5 and 4.8 < sum(sleeps) / len(sleeps) < 5.2
        with pytest.raises(ValueError):
            aiortc_internals.set_rtcp_interval(0.2)
    finally:
        aiortc_internals.set_rtcp_interval(1.0)
    assert aiortc.rtcrtpsender.random.random() < 1.0
