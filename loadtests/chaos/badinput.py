"""Bad input against a running cluster: every answer is a clear error with a stable id,
nothing already in the system changes, and the service stays up.

Covers malformed and oversized JSON, malformed SDP, wrong / expired / replayed / forged /
revoked tokens, unknown call and agent ids, an invalid IVR flow, reads without a token, an
agent lifting a lockout, and floods of route requests: past the global capacity from the
exempt loopback address (``route.busy``), and of one caller number and from one address
elsewhere on the loopback network (``route.rate_limited``, security finding 9).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from cluster.tls import client_session
from cluster.tokens import TokenSigner


async def _post(http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(url, data=data, headers={"Content-Type": "application/json", **(headers or {})}) as r:
        return r.status, await r.json(content_type=None)


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url) as r:
        return r.status, await r.json(content_type=None)


async def _delete(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with http.delete(url, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def _ws_exchange(http: aiohttp.ClientSession, ws_url: str, messages: list[Any]) -> list[dict[str, Any]]:
    replies = []
    async with http.ws_connect(ws_url) as ws:
        for message in messages:
            await (ws.send_str(message) if isinstance(message, str) else ws.send_json(message))
            reply = await ws.receive(timeout=5)
            replies.append(json.loads(reply.data))
    return replies


async def run_suite(central: str, site_url: str, *, secret: str) -> dict[str, Any]:
    """Returns ``{"cases": n, "failures": [...]}``; a failure names the case and what came back."""
    signer = TokenSigner(secret)
    forged = TokenSigner("not-the-cluster-secret-0123456789-abcdef").issue("call", "x")
    failures: list[str] = []
    cases = 0

    def expect(name: str, got: tuple[int, dict[str, Any]] | dict[str, Any], status: int | None, error_id: str
               ) -> None:
        nonlocal cases
        cases += 1
        got_status, body = got if isinstance(got, tuple) else (None, got)
        if body.get("error_id") != error_id or (status is not None and got_status != status) or not body.get(
                "message"):
            failures.append(f"{name}: expected {status} {error_id}, got {got_status} {body}")

    async with client_session() as http:
        route = central + "/v1/calls"
        expect("malformed json", await _post(http, route, b"{nope"), 400, "request.malformed_json")
        expect("json array", await _post(http, route, [1]), 400, "request.malformed_json")
        expect("oversized body", await _post(http, route, b"[" + b"1," * 60_000 + b"1]"), 413, "request.too_large")
        expect("missing field", await _post(http, route, {"caller": "+1"}), 400, "request.bad_field")
        expect("bad number", await _post(http, route, {"caller": "DROP TABLE", "dialled": "1"}), 400,
               "route.bad_number")
        expect("deeply nested json", await _post(http, route, b'{"x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
               400, "request.malformed_json")
        expect("cross-site simple post", await _post(http, route, {"caller": "+1", "dialled": "95589"},
                                                     {"Content-Type": "text/plain"}), 415, "request.content_type")
        expect("unsafe flow id", await _post(http, site_url + "/v1/flows",
                                             {"id": "../x", "start": "a", "nodes": [{"id": "a", "type": "hangup"}]},
                                             {"Authorization": f"Bearer {signer.issue('agent', 'm', role='manager')}"}),
               400, "ivr.invalid_flow")
        expect("forged customer token",
               await _post(http, route, {"caller": "+1", "dialled": "95589", "customer_token": forged}), 401,
               "token.forged")
        expect("expired call token", await _post(http, central + "/v1/calls/x/reconnect",
                                                 {"token": signer.issue("call", "x", ttl_s=-6 * 3600)}), 401,
               "token.expired")
        expect("unknown call", await _post(http, central + "/v1/calls/nope/reconnect",
                                           {"token": signer.issue("call", "nope")}), 404, "call.unknown")
        expect("agent token for a call", await _post(http, central + "/v1/agents/reattach",
                                                     {"token": signer.issue("call", "x")}), 401, "token.wrong_kind")
        expect("unknown agent login", await _post(http, site_url + "/v1/agents/login",
                                                  {"agent_id": "nobody", "password": "x"}), 401,
               "agent.bad_credentials")
        manager = signer.issue("agent", "chaos-manager", role="manager")
        expect("invalid IVR flow", await _post(http, site_url + "/v1/flows",
                                               {"id": "broken", "start": "a", "nodes": [{"id": "a", "type": "menu"}]},
                                               {"Authorization": f"Bearer {manager}"}), 400, "ivr.invalid_flow")
        expect("status without a token", await _get(http, site_url + "/v1/status"), 401, "token.malformed")
        expect("call look-up without a token", await _get(http, central + "/v1/calls/x"), 401, "token.malformed")
        agent = {"Authorization": f"Bearer {signer.issue('agent', 'chaos-agent', role='agent')}"}
        expect("agent lifts a lockout", await _delete(http, site_url + "/v1/lockouts/pin/C1", agent), 403,
               "role.forbidden")
        session = signer.issue("agent", "chaos-leaver", role="agent", sid="chaos-session", auth_exp=2**31)
        await _post(http, site_url + "/v1/agents/logout", {}, {"Authorization": f"Bearer {session}"})
        await asyncio.sleep(0.5)  # central learns the revocation from etcd
        expect("revoked token re-attaches", await _post(http, central + "/v1/agents/reattach", {"token": session}),
               401, "token.revoked")
        ws_url = site_url.replace("http", "ws", 1) + "/ws"
        replies = await _ws_exchange(http, ws_url, [
            "not json",
            {"type": "no_such_type"},
            {"type": "offer", "sdp": "v=0"},
            {"type": "join", "token": forged},
            {"type": "join", "token": signer.issue("call", "no-such-call", site=None)},
            {"type": "join", "token": signer.issue("agent", "ghost", skills={})},
            {"type": "x" * 70_000},
        ])
        for name, reply, error_id in zip(
            ["ws not json", "ws unknown type", "ws offer before join", "ws forged token", "ws replayed/unknown call",
             "ws unknown agent", "ws oversized"],
            replies,
            ["signalling.malformed", "signalling.unknown_type", "signalling.not_joined", "token.forged",
             "call.not_here", "agent.unknown", "signalling.too_large"],
            strict=True,
        ):
            expect(name, reply, None, error_id)
        busy = await _flood(http, route)
        cases += 1
        if busy["other_errors"] or not busy["answers"].get("route.busy"):
            failures.append(f"flood: expected routed or route.busy only, and some busy: {busy['answers']}")
        sample = busy.pop("sample", None)
        if sample is not None:  # a real call: a malformed SDP is refused, the call stays joinable
            bad_sdp, again = await _ws_exchange(http, sample["ws_url"], [
                {"type": "join", "token": sample["token"]},
                {"type": "offer", "sdp": "v=0\r\nthis is not sdp"},
            ]), None
            expect("malformed sdp", bad_sdp[1], None, "signalling.bad_sdp")
            again = await _ws_exchange(http, sample["ws_url"], [{"type": "join", "token": sample["token"]}])
            cases += 1
            if again[0].get("type") != "joined":
                failures.append(f"call not joinable after a bad SDP: {again[0]}")
        for failure in await _per_client_floods(central):
            cases += 1
            if failure:
                failures.append(failure)
        async with http.get(central + "/healthz") as r:
            cases += 1
            if r.status != 200:
                failures.append(f"central unhealthy after bad input: {r.status}")
    return {"cases": cases, "failures": failures, "flood": busy}


async def _flood(http: aiohttp.ClientSession, route: str, requests: int = 400) -> dict[str, Any]:
    """Hundreds of route requests at once: each is routed or told busy (503 route.busy)."""
    routed: list[dict[str, Any]] = []

    async def one(i: int) -> str:
        status, body = await _post(http, route, {"caller": f"+1666{i:06d}", "dialled": "8000",
                                                 "request_id": f"flood-{i}"})
        if status == 201:
            routed.append(body)
        return "routed" if status == 201 else str(body.get("error_id"))

    answers = await asyncio.gather(*(one(i) for i in range(requests)))
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer] = counts.get(answer, 0) + 1
    other = {k: v for k, v in counts.items() if k not in ("routed", "route.busy")}
    return {"answers": counts, "other_errors": other, "sample": routed[0] if routed else None,
            "routed_ids": [r["call_id"] for r in routed]}


Answer = tuple[int, dict[str, Any], str | None]  # status, body, Retry-After


async def flood_from(address: str, central: str, bodies: list[dict[str, Any]],
                     headers: dict[str, str] | None = None) -> list[Answer]:
    """Route requests all at once from the local ``address`` (any 127.x.y.z: loopback has them
    all, and only 127.0.0.1 is exempt from the per-client limits in a local cluster)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0), limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def one(body: dict[str, Any]) -> Answer:
            async with http.post(central + "/v1/calls", json=body, headers=headers) as r:
                return r.status, await r.json(content_type=None), r.headers.get("Retry-After")

        return list(await asyncio.gather(*(one(body) for body in bodies)))


def check_limited(answers: list[Answer], limit: str, *, busy_too: bool = False) -> str | None:
    """None if every answer is routed or ``429 route.rate_limited`` by ``limit`` (or, with
    ``busy_too``, ``503 route.busy``: the global capacity is shared) with a ``Retry-After``, and
    some were rate limited; else what was wrong."""
    refused = [(s, b.get("error_id"), (b.get("details") or {}).get("limit"), h) for s, b, h in answers if s != 201]
    ok = {(429, "route.rate_limited", limit), *([(503, "route.busy", None)] if busy_too else [])}
    wrong = [r for r in refused if r[:3] not in ok or not r[3] or int(r[3]) < 1]
    if wrong or not any(r[0] == 429 for r in refused):
        return f"expected routed or 429 route.rate_limited ({limit}) with Retry-After, some limited: {wrong[:3]}"
    return None


async def _per_client_floods(central: str, requests: int = 40) -> list[str | None]:
    """One caller number flooded from one address, then distinct numbers from another: each is
    cut short by its own limit, and a caller elsewhere still routes."""
    one_number = await flood_from("127.0.0.2", central, [
        {"caller": "+16660000001", "dialled": "8000", "request_id": f"number-flood-{i}"} for i in range(requests)])
    one_address = await flood_from("127.0.0.3", central, [
        {"caller": f"+1667{i:06d}", "dialled": "8000"} for i in range(requests)])
    (status, body, _), = await flood_from("127.0.0.4", central, [{"caller": "+16680000001", "dialled": "8000"}])
    after = None if status == 201 else f"per-client floods: another caller was refused: {status} {body}"
    return [check_limited(one_number, "caller", busy_too=True), check_limited(one_address, "address", busy_too=True),
            after]
