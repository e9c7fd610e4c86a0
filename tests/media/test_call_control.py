"""Hold, consult, conference and supervisor taps carry the right audio to the right parties."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from site_node.media import CallMedia, MediaSwitch, Mode, TapMode
from site_node.media.prompts import MUSIC_NOTES
from tests.media.peers import ClientPeer, band_share, hears, hears_all, join

CUSTOMER, AGENT, AGENT2, SUPERVISOR = 440.0, 660.0, 880.0, 1100.0


async def hears_music(peer: ClientPeer, timeout: float = 8.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        x = peer.recent(1.0)
        if len(x) > 0.9 * peer.rate:
            music = sum(band_share(x, peer.rate, f, 8) for f in MUSIC_NOTES)
            others = sum(band_share(x, peer.rate, f) for f in (CUSTOMER, AGENT, AGENT2))
            if music > 0.5 and others < 0.05:
                return True
        await asyncio.sleep(0.1)
    return False


class Parties:
    def __init__(self, switch: MediaSwitch) -> None:
        self.switch = switch
        self.c = ClientPeer(CUSTOMER)
        self.a = ClientPeer(AGENT)
        self.b = ClientPeer(AGENT2, "PCMU")  # a different codec: transcoded where needed
        self.s = ClientPeer(SUPERVISOR)

    async def start(self) -> CallMedia:
        for leg_id, peer in (("c", self.c), ("a", self.a), ("b", self.b), ("s", self.s)):
            await join(self.switch, leg_id, peer)
        call = self.switch.new_call("call-1", "c")
        call.connect_agent("a")
        return call

    async def close(self) -> None:
        for peer in (self.c, self.a, self.b, self.s):
            await peer.close()


@pytest.fixture
async def parties(switch: MediaSwitch) -> AsyncIterator[Parties]:
    p = Parties(switch)
    try:
        yield p
    finally:
        await p.close()


async def test_hold_plays_music_then_resume(parties: Parties) -> None:
    call = await parties.start()
    assert await hears(parties.c, AGENT)
    call.hold()
    assert await hears_music(parties.c)
    call.resume()
    assert await hears(parties.c, AGENT)
    assert call.history == [Mode.IVR, Mode.BRIDGED, Mode.HOLD, Mode.BRIDGED]


async def test_consult_then_complete(parties: Parties) -> None:
    call = await parties.start()
    call.consult("b")
    assert await hears_music(parties.c)
    assert await hears(parties.a, AGENT2)
    assert await hears(parties.b, AGENT)
    call.consult_complete()
    assert await hears(parties.c, AGENT2)
    assert await hears(parties.b, CUSTOMER)
    assert call.state.agent == "b"


async def test_consult_cancel_returns_to_first_agent(parties: Parties) -> None:
    call = await parties.start()
    call.consult("b")
    assert await hears_music(parties.c)
    call.consult_cancel()
    assert await hears(parties.c, AGENT)
    assert await hears(parties.a, CUSTOMER)


async def test_three_way_conference_mixes(parties: Parties) -> None:
    call = await parties.start()
    call.consult("b")
    call.conference()
    assert await hears_all(parties.c, [AGENT, AGENT2])
    assert await hears_all(parties.a, [CUSTOMER, AGENT2])
    assert await hears_all(parties.b, [CUSTOMER, AGENT])


async def test_whisper_reaches_agent_only(parties: Parties) -> None:
    call = await parties.start()
    call.tap("s", TapMode.WHISPER)
    assert await hears_all(parties.a, [CUSTOMER, SUPERVISOR])
    assert await hears_all(parties.s, [CUSTOMER, AGENT])
    assert await hears(parties.c, AGENT, share=0.8)
    await asyncio.sleep(0.5)
    heard = parties.c.recent(1.0)
    assert band_share(heard, parties.c.rate, SUPERVISOR) < 0.01


async def test_listen_then_barge(parties: Parties) -> None:
    call = await parties.start()
    call.tap("s", TapMode.LISTEN)
    assert await hears_all(parties.s, [CUSTOMER, AGENT])
    assert await hears(parties.a, CUSTOMER, share=0.8)
    assert band_share(parties.a.recent(1.0), parties.a.rate, SUPERVISOR) < 0.01
    call.tap("s", TapMode.BARGE)
    assert await hears_all(parties.c, [AGENT, SUPERVISOR])
    assert await hears_all(parties.a, [CUSTOMER, SUPERVISOR])
