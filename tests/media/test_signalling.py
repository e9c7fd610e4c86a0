"""Signalling WebSocket: protocol errors are refused with stable ids; other calls carry on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cluster.clock import ManualClock
from cluster.tokens import TokenSigner
from site_node.media import MediaSwitch
from site_node.signalling import CallControl, Session, SignallingServer
from tests.media.peers import ClientPeer, hears

SECRET = "test-secret-0123456789-0123456789-abcdef"


class MediaOnlyControl:
    """A minimal CallControl: customers and agents join, agents answer calls by id."""

    def __init__(self, switch: MediaSwitch) -> None:
        self.switch = switch
        self.commands: list[tuple[str, str]] = []

    def _leg(self, session: Session) -> str:
        return f"{session.kind}:{session.subject}"

    async def join(self, session: Session) -> dict[str, Any]:
        return {}

    async def offer(self, session: Session, sdp: str) -> str:
        _, answer = await self.switch.answer_webrtc(self._leg(session), sdp)
        if session.kind == "call":
            self.switch.new_call(session.subject, self._leg(session))
        return answer

    async def answer_call(self, session: Session, call_id: str) -> None:
        self.switch.call(call_id).connect_agent(self._leg(session))

    async def hold(self, session: Session) -> None:
        self.commands.append(("hold", session.subject))

    async def leave(self, session: Session) -> None:
        await self.switch.close_leg(self._leg(session), "left")

    async def hangup(self, session: Session, reason: str) -> None: ...
    async def resume(self, session: Session) -> None: ...
    async def transfer(self, session: Session, target: str, target_kind: str) -> None: ...
    async def consult(self, session: Session, target: str) -> None: ...
    async def consult_complete(self, session: Session) -> None: ...
    async def consult_cancel(self, session: Session) -> None: ...
    async def conference(self, session: Session) -> None: ...
    async def digits(self, session: Session, digits: str) -> None: ...
    async def supervise(self, session: Session, call_id: str, mode: str) -> None: ...
    async def agent_command(self, session: Session, command: str, fields: dict[str, Any]) -> None:
        self.commands.append((command, session.subject))


class Rig:
    def __init__(self, server: TestServer, http: aiohttp.ClientSession, signer: TokenSigner):
        self.server, self.http, self.signer = server, http, signer

    async def socket(self) -> aiohttp.ClientWebSocketResponse:
        return await self.http.ws_connect(self.server.make_url("/ws"))


async def request(ws: aiohttp.ClientWebSocketResponse, message: Any) -> dict[str, Any]:
    await (ws.send_str(message) if isinstance(message, str) else ws.send_json(message))
    reply: dict[str, Any] = await ws.receive_json(timeout=10)
    return reply


@pytest.fixture
async def rig(switch: MediaSwitch) -> AsyncIterator[Rig]:
    signer = TokenSigner(SECRET, clock=ManualClock())
    # cast: the runtime's CallControl grows; this test only exercises the media commands
    signalling = SignallingServer(cast(CallControl, MediaOnlyControl(switch)), signer)
    app = web.Application()
    signalling.add_routes(app)
    server = TestServer(app)
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Rig(server, http, signer)
    await signalling.stop()
    await server.close()


async def test_protocol_errors_have_stable_ids_and_keep_the_socket(rig: Rig) -> None:
    ws = await rig.socket()
    assert (await request(ws, {"type": "hold", "id": "1"}))["error_id"] == "signalling.not_joined"
    assert (await request(ws, "{nope"))["error_id"] == "signalling.malformed"
    assert (await request(ws, {"type": "warp"}))["error_id"] == "signalling.unknown_type"
    assert (await request(ws, {"type": "join"}))["error_id"] == "signalling.malformed"
    big = {"type": "ping", "pad": "x" * 70_000}
    assert (await request(ws, json.dumps(big)))["error_id"] == "signalling.too_large"
    forged = TokenSigner("another-secret-0123456789-0123456789-xyz").issue("call", "c1")
    assert (await request(ws, {"type": "join", "token": forged}))["error_id"] == "token.forged"
    expired = rig.signer.issue("call", "c1", ttl_s=-5)
    assert (await request(ws, {"type": "join", "token": expired}))["error_id"] == "token.expired"
    token = rig.signer.issue("call", "c1")
    joined = await request(ws, {"type": "join", "token": token, "id": "j"})
    assert (joined["type"], joined["kind"], joined["subject"]) == ("joined", "call", "c1")
    again = await request(ws, {"type": "join", "token": token})
    assert again["error_id"] == "signalling.already_joined"
    hold = await request(ws, {"type": "hold", "id": "h"})
    assert (hold["error_id"], hold["id"]) == ("signalling.forbidden", "h")
    bad_digits = await request(ws, {"type": "digits", "digits": "12x"})
    assert bad_digits["error_id"] == "signalling.malformed"
    assert await request(ws, {"type": "ping", "id": "p"}) == {"type": "pong", "id": "p"}
    await ws.close()


async def test_bad_sdp_and_bad_token_do_not_disturb_a_call(rig: Rig, switch: MediaSwitch) -> None:
    customer, agent = ClientPeer(440), ClientPeer(660)
    c_ws, a_ws, intruder = await rig.socket(), await rig.socket(), await rig.socket()
    try:
        await request(c_ws, {"type": "join", "token": rig.signer.issue("call", "call-1")})
        reply = await request(c_ws, {"type": "offer", "sdp": await customer.offer()})
        await customer.accept(reply["sdp"])
        await request(a_ws, {"type": "join", "token": rig.signer.issue("agent", "ag-7")})
        reply = await request(a_ws, {"type": "offer", "sdp": await agent.offer()})
        await agent.accept(reply["sdp"])
        ack = await request(a_ws, {"type": "answer_call", "call_id": "call-1", "id": "x"})
        assert ack == {"type": "ack", "id": "x", "command": "answer_call"}
        assert await hears(agent, 440) and await hears(customer, 660)

        await request(intruder, {"type": "join", "token": rig.signer.issue("call", "call-2")})
        for sdp in ("v=0\r\nthis is not sdp", "hello", (await customer.offer())[:200]):
            reply = await request(intruder, {"type": "offer", "sdp": sdp, "id": "o"})
            assert (reply["error_id"], reply["id"]) == ("signalling.bad_sdp", "o")
        bad = await request(await rig.socket(), {"type": "join", "token": "x.y.z"})
        assert bad["error_id"] == "token.malformed"
        assert set(switch.legs) == {"call:call-1", "agent:ag-7"}

        customer.track.freq, agent.track.freq = 550.0, 770.0
        assert await hears(agent, 550) and await hears(customer, 770)
        assert await request(c_ws, {"type": "ping"}) == {"type": "pong", "id": None}
    finally:
        for ws in (c_ws, a_ws, intruder):
            await ws.close()
        await customer.close()
        await agent.close()
