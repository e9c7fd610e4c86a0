"""The event stream end to end on real parts: a real etcd (the call records and site membership
the events come from), a real SQLite business database, central's real HTTP API and a real
webhook receiver (aiohttp on loopback) that answers 500 until told to recover.

Every event arrives exactly once after de-duplication by id, in order per call, with a valid
signature; two replicas recording the same etcd changes store each event once; the SSE stream
resumes from an offset; bad subscription input gets ``events.*`` ids and changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from central.crm.api import CrmApi
from central.events import EventsFeature
from central.notify.backoff import Backoff
from central.workorders import tables as wo
from cluster.callrecords import CallRecord, RecordState
from cluster.etcd import Etcd
from cluster.keys import Keyspace
from cluster.tokens import TokenSigner
from tests.crm.conftest import BusinessPart, CrmServer, serve
from tests.events.receiver import SECRET, Receiver, verify

pytestmark = pytest.mark.timeout(120)
CALLS = ("call-a", "call-b", "call-c")


def _features(crm: CrmApi, signer: TokenSigner) -> list[BusinessPart]:
    """Two replicas' event features on one database: both record, one delivers."""
    return [EventsFeature(crm, signer, max_body_bytes=65536, backoff=Backoff(0.05, 2.0, 0.2), poll_s=0.1)
            for _ in range(2)]  # fmt: skip


@pytest.fixture
async def central(tmp_path: Path, etcd: Etcd, keyspace: Keyspace) -> AsyncIterator[CrmServer]:
    async for server in serve(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}", parts=_features):
        for part in server.parts:
            assert isinstance(part, EventsFeature)
            part.attach(etcd, keyspace)
        leader = server.parts[0]
        assert isinstance(leader, EventsFeature)
        await leader.lead()
        yield server


async def _until(condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await condition():  # noqa: ASYNC110 (polls the real API)
            await asyncio.sleep(0.05)
    assert await condition(), what


async def _json(http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str],
                body: Any = None) -> tuple[int, Any]:  # fmt: skip
    async with http.request(method, url, json=body, headers=headers) as r:
        return r.status, await r.json()


async def _log(http: aiohttp.ClientSession, central: CrmServer) -> list[dict[str, Any]]:
    status, page = await _json(http, "GET", central.url + "/v1/events?limit=500", central.bearer("manager"))
    assert status == 200, page
    return list(page["events"])


async def _put(etcd: Etcd, keys: Keyspace, record: CallRecord) -> None:
    await etcd.put(keys.call(record.call_id), record.to_json())


async def _calls_live_and_end(etcd: Etcd, keys: Keyspace) -> None:
    """Three calls, interleaved, as the leader and the sites write their records; call-b fails
    over from north to south while talking."""
    records = {c: CallRecord(c, "branch-north", RecordState.ROUTED, "retail", 5, 100.0, caller="+86138000000" + c[-1],
                             dialled="95589", queue="retail", data={"account": "**** 12"}) for c in CALLS}  # fmt: skip
    for c in CALLS:
        await _put(etcd, keys, records[c])
    for state, agent in ((RecordState.QUEUED, None), (RecordState.CONNECTED, "north-04")):
        for c in CALLS:
            records[c] = replace(records[c], state=state, agent_id=agent)
            await _put(etcd, keys, records[c])
    moved = records["call-b"].moved_to("branch-south", fencing_token=2, routed_by="central-2", at=130.0)
    await _put(etcd, keys, moved)
    await _put(etcd, keys, replace(moved, state=RecordState.CONNECTED, agent_id="north-04"))
    for c in CALLS:
        await etcd.delete(keys.call(c))


async def test_a_failing_receiver_gets_every_event_once_in_order_per_call_after_it_recovers(
    central: CrmServer, receiver: Receiver, etcd: Etcd, keyspace: Keyspace
) -> None:
    async with aiohttp.ClientSession() as http:
        status, sub = await _json(http, "POST", central.url + "/v1/events/subscriptions", central.bearer("admin"),
                                  {"url": receiver.url, "secret": SECRET, "types": ["call.*"]})  # fmt: skip
        assert status == 201, sub
        assert "secret" not in sub and sub["secret_set"] is True
        await _calls_live_and_end(etcd, keyspace)
        expected = 3 * 4 + 2  # routed, queued, connected, ended each; call-b moving and connected at south

        async def all_stored() -> bool:
            return len([e for e in await _log(http, central) if e["type"].startswith("call.")]) >= expected

        await _until(all_stored, "every call event recorded while the webhook is failing")
        await _until(lambda: _at_least(receiver.attempts, 3), "the dead endpoint was retried")
        assert receiver.received == []  # the endpoint is dead, recording went on
        receiver.healthy = True
        stored = [e for e in await _log(http, central) if e["type"].startswith("call.")]
        assert len(stored) == expected  # two replicas recorded, each event is stored once

        async def all_delivered() -> bool:
            return {e["id"] for e in receiver.received} >= {e["id"] for e in stored}

        await _until(all_delivered, "every event delivered after the receiver recovered")
    assert all(verify(headers, body) for headers, body in receiver.attempts)
    seen: dict[str, dict[str, Any]] = {}
    for event in receiver.received:
        seen.setdefault(event["id"], event)
    assert list(seen) == [e["id"] for e in stored]  # exactly once after de-dup, in the stream's order
    for call_id in CALLS:
        story = [(e["type"], e["site"]) for e in seen.values() if e["call_id"] == call_id]
        if call_id == "call-b":
            assert story == [("call.routed", "branch-north"), ("call.queued", "branch-north"),
                             ("call.connected", "branch-north"), ("call.moving", "branch-south"),
                             ("call.connected", "branch-south"), ("call.ended", "branch-south")]  # fmt: skip
        else:
            assert [t for t, _s in story] == ["call.routed", "call.queued", "call.connected", "call.ended"]
    assert all("account" not in json.dumps(e["data"]) for e in seen.values())  # attached data never leaves


async def _at_least(items: list[Any], count: int) -> bool:
    return len(items) >= count


async def _read_sse(response: aiohttp.ClientResponse, count: int) -> list[tuple[int, dict[str, Any]]]:
    got: list[tuple[int, dict[str, Any]]] = []
    seq = 0
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("data: "):
            got.append((seq, json.loads(line[6:])))
            if len(got) == count:
                return got
    return got


async def test_the_stream_resumes_from_an_offset(central: CrmServer, etcd: Etcd, keyspace: Keyspace) -> None:
    await _calls_live_and_end(etcd, keyspace)
    manager = central.bearer("manager")
    async with aiohttp.ClientSession() as http:
        await _until(lambda: _count(http, central, 14), "the calls' events recorded")
        async with asyncio.timeout(30), http.get(central.url + "/v1/events/stream?type=call.*", headers=manager) as r:
            assert r.status == 200 and r.content_type == "text/event-stream"
            first = await _read_sse(r, 5)
        resume_at = first[2][0]
        headers = {**manager, "Last-Event-ID": str(resume_at)}
        async with asyncio.timeout(30), http.get(central.url + "/v1/events/stream?type=call.*", headers=headers) as r:
            again = await _read_sse(r, 11)
        assert [s for s, _e in again] == sorted(s for s, _e in again) and again[0][0] > resume_at
        assert [e["id"] for _s, e in first[3:]] == [e["id"] for _s, e in again[:2]]
        async with asyncio.timeout(30), http.get(f"{central.url}/v1/events/stream?after={again[-1][0]}",
                                                 headers=manager) as r:  # fmt: skip
            reader = asyncio.ensure_future(_read_sse(r, 1))
            await asyncio.sleep(0.2)
            assert not reader.done()  # live: waits for the next event
            await _put(etcd, keyspace, CallRecord("call-z", "branch-east", RecordState.ROUTED, "loans", 1, 200.0))
            ((_seq, live),) = await reader
        assert (live["type"], live["call_id"], live["site"]) == ("call.routed", "call-z", "branch-east")


async def _count(http: aiohttp.ClientSession, central: CrmServer, at_least: int) -> bool:
    return len(await _log(http, central)) >= at_least


async def test_site_agent_queue_and_work_order_events_are_recorded(
    central: CrmServer, etcd: Etcd, keyspace: Keyspace
) -> None:
    info = {"url": "http://n", "agents": {"north-04": {"state": "ready", "reason": None, "call_id": None}},
            "queues": {"retail": {"skill": "retail", "waiting": 2, "staffed": 1, "ready": 1}}}  # fmt: skip
    await etcd.put(keyspace.site("branch-west"), json.dumps(info))
    await etcd.delete(keyspace.site("branch-west"))
    feature = central.parts[0]
    assert isinstance(feature, EventsFeature) and central.api.db is not None
    async with central.api.db.engine.begin() as conn:
        await conn.execute(wo.departments.insert().values(id="cards", name="Cards", created_at=1.0))
        await conn.execute(wo.work_orders.insert().values(
            id="WO-1", type="complaint", priority="high", status="new", department_id="cards", subject="s",
            created_by="north-05", created_at=1.0, updated_at=1.0, response_due=2.0, resolution_due=3.0,
            escalate_to="x"))  # fmt: skip
        entry = {"order_id": "WO-1", "from_status": None, "to_status": "new", "event": "create", "actor": "north-05",
                 "at": 1.0, "note": ""}  # fmt: skip
        await conn.execute(wo.status_history.insert().values(**entry))
    async with aiohttp.ClientSession() as http:
        wanted = ["site.up", "agent.logged_in", "queue.changed", "site.down", "agent.logged_out", "workorder.created"]

        async def all_there() -> bool:
            return set(wanted) <= {e["type"] for e in await _log(http, central)}

        await _until(all_there, "site, agent, queue and work-order events recorded")
        events = await _log(http, central)
        assert sorted(e["type"] for e in events) == sorted(wanted)  # once each, though two replicas record
        status, page = await _json(http, "GET", central.url + "/v1/events?type=workorder.*", central.bearer("admin"))
        assert status == 200 and [e["data"]["order_id"] for e in page["events"]] == ["WO-1"]


async def test_bad_subscription_input_gets_events_error_ids_and_changes_nothing(central: CrmServer) -> None:
    admin, base = central.bearer("admin"), central.url + "/v1/events/subscriptions"
    good = {"url": "https://crm.example/hook", "secret": SECRET}
    cases = [
        ({"url": "https://crm.example/hook"}, "secret"),
        ({**good, "secret": "short"}, "secret"),
        ({**good, "url": "ftp://crm.example"}, "url"),
        ({**good, "types": ["call.exploded"]}, "types"),
        ({**good, "sites": "branch-north"}, "sites"),
        ({**good, "colour": "red"}, "colour"),
    ]
    async with aiohttp.ClientSession() as http:
        for body, named in cases:
            status, answer = await _json(http, "POST", base, admin, body)
            assert (status, answer["error_id"], answer["details"]["field"]) == (400, "events.bad_subscription", named)
        assert (await _json(http, "GET", base, admin))[1] == {"subscriptions": []}
        status, answer = await _json(http, "POST", base, central.bearer("manager"), good)
        assert (status, answer["error_id"]) == (403, "role.forbidden")
        status, answer = await _json(http, "GET", central.url + "/v1/events", central.bearer("agent"))
        assert (status, answer["error_id"]) == (403, "role.forbidden")
        status, answer = await _json(http, "GET", central.url + "/v1/events?after=x", central.bearer("manager"))
        assert (status, answer["error_id"]) == (400, "events.bad_query")
        status, answer = await _json(http, "GET", central.url + "/v1/events?type=nope", central.bearer("manager"))
        assert (status, answer["error_id"]) == (400, "events.bad_query")
        assert (await _json(http, "GET", base + "/abc", admin))[1]["error_id"] == "events.bad_subscription"
        status, answer = await _json(http, "GET", base + "/99", admin)
        assert (status, answer["error_id"]) == (404, "events.unknown_subscription")
        status, made = await _json(http, "POST", base, admin, {**good, "queues": ["retail"]})
        assert status == 201
        status, answer = await _json(http, "PUT", f"{base}/{made['id']}", admin, {"types": ["nope"]})
        assert (status, answer["error_id"]) == (400, "events.bad_subscription")
        status, changed = await _json(http, "PUT", f"{base}/{made['id']}", admin, {"types": ["agent.*"]})
        assert status == 200 and changed["types"] == ["agent.*"] and changed["queues"] == ["retail"]
        listing = (await _json(http, "GET", base, admin))[1]["subscriptions"]
        assert [s["id"] for s in listing] == [made["id"]] and SECRET not in json.dumps(listing)
        assert (await _json(http, "DELETE", f"{base}/{made['id']}", admin))[0] == 200
        assert (await _json(http, "DELETE", f"{base}/{made['id']}", admin))[0] == 404
