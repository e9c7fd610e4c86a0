"""Recording search over HTTP: two real sites (SQLite, their own servers) and central's fan-out,
a call that failed over presented as one, role checks and the audited legal hold."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from central.recordings.api import RecordingSearchApi
from central.recordings.merge import whole_calls
from cluster.clock import ManualClock
from cluster.http import HttpServer, make_app
from cluster.tokens import TokenSigner
from site_node.recordings.search_api import RecordingsApi
from site_node.storage import RecordingMeta, Storage
from site_node.storage.records import CallDetailRecord

SECRET = "a-test-secret-of-enough-length-for-hs256"
T0 = 1_700_000_000.0


def _same(storage: Storage) -> Storage:
    return storage


def _guard(handler: Any) -> Any:
    return handler


class _Sites:  # the part of central's cluster state the fan-out reads: live sites and their URLs
    def __init__(self, urls: dict[str, str]) -> None:
        self.sites = {name: {"url": url} for name, url in urls.items()}


@contextlib.asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[str]:
    server = HttpServer(app, "127.0.0.1", 0, port_flag="--port")
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


async def _part(storage: Storage, site: str, call_id: str, started: float, duration: float, **cdr: Any) -> int:
    await storage.calls.upsert_call(CallDetailRecord(call_id=call_id, site=site, arrival_at=started, **cdr))
    rec = await storage.recordings.add_recording(RecordingMeta(call_id=call_id, path="p", started_at=started))
    await storage.recordings.finish_recording(rec, ended_at=started + duration, duration_s=duration)
    return rec


@pytest.fixture
async def center(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    clock = ManualClock(T0 + 100)
    signer = TokenSigner(SECRET, clock=clock)
    async with contextlib.AsyncExitStack() as stack:
        urls, stores = {}, {}
        for site in ("north", "south"):
            storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / site}.db")
            stack.push_async_callback(storage.close)
            app = make_app(lambda: {"ok": True})
            RecordingsApi(functools.partial(_same, storage), signer, clock, site=site).install(app, _guard)
            urls[site] = await stack.enter_async_context(_serve(app))
            stores[site] = storage
        central = make_app(lambda: {"ok": True})
        RecordingSearchApi(lambda: _Sites(urls), signer).install(central)  # type: ignore[arg-type, return-value]
        url = await stack.enter_async_context(_serve(central))
        yield {"url": url, "sites": urls, "storage": stores, "signer": signer}


async def _get(center: dict[str, Any], path: str, role: str, base: str | None = None) -> tuple[int, dict[str, Any]]:
    token = center["signer"].issue("agent", f"u-{role}", role=role)
    async with (
        aiohttp.ClientSession() as http,
        http.get((base or center["url"]) + path, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status, await r.json()  # fmt: skip


async def test_a_call_that_failed_over_is_one_recording_with_both_parts(center: dict[str, Any]) -> None:
    north, south = center["storage"]["north"], center["storage"]["south"]
    first = await _part(north, "north", "call-1", T0, 40, queue="loans", agent_id="a1", end_reason="failed_over")
    second = await _part(south, "south", "call-1", T0 + 42, 20, queue="loans", agent_id="a1",
                         end_reason="answered_completed", first_site="north", failovers=1)  # fmt: skip
    await _part(south, "south", "call-2", T0 + 5, 10, queue="cards", agent_id="a2", end_reason="abandoned")

    status, body = await _get(center, "/v1/recordings?queue=loans", "team_leader")
    assert status == 200 and body["unavailable"] == []
    [call] = body["recordings"]
    assert (call["call_id"], call["sites"], call["duration_s"]) == ("call-1", ["north", "south"], 60.0)
    assert [(p["site"], p["id"]) for p in call["parts"]] == [("north", first), ("south", second)]
    assert call["parts"][0]["audio"] == center["sites"]["north"] + f"/v1/recordings/{first}/audio"
    assert call["cdr"]["end_reason"] == "answered_completed" and call["cdr"]["first_site"] == "north"

    status, body = await _get(center, "/v1/recordings", "manager")
    assert status == 200
    assert [c["call_id"] for c in body["recordings"]] == ["call-1", "call-2"]


async def test_agents_cannot_search_and_bad_filters_are_refused(center: dict[str, Any]) -> None:
    status, body = await _get(center, "/v1/recordings", "agent")
    assert (status, body["error_id"]) == (403, "role.forbidden")
    status, body = await _get(center, "/v1/recordings?min_duration_s=long", "manager")
    assert (status, body["error_id"], body["details"]["field"]) == (400, "recordings.bad_filter", "min_duration_s")


async def test_a_legal_hold_is_for_managers_and_audited(center: dict[str, Any]) -> None:
    storage = center["storage"]["north"]
    rec = await _part(storage, "north", "call-9", T0, 30, queue="loans")
    base = center["sites"]["north"]

    async def hold(method: str, role: str) -> tuple[int, dict[str, Any]]:
        token = center["signer"].issue("agent", f"u-{role}", role=role)
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{base}/v1/recordings/{rec}/hold", headers={"Authorization": f"Bearer {token}"}) as r,
        ):
            return r.status, await r.json()  # fmt: skip

    assert (await hold("PUT", "team_leader"))[0] == 403
    assert (await storage.recordings.recording(rec)).legal_hold is False
    assert await hold("PUT", "manager") == (200, {"id": rec, "legal_hold": True})
    assert (await storage.recordings.recording(rec)).legal_hold is True
    status, body = await _get(center, "/v1/recordings", "team_leader", base=base)
    assert status == 200
    assert [r["legal_hold"] for r in body["recordings"]] == [True]
    assert await hold("DELETE", "admin") == (200, {"id": rec, "legal_hold": False})
    entries = await storage.audit.entries(target=str(rec))
    assert [(e.actor, e.action) for e in entries] == [("u-manager", "recording_hold_placed"),
                                                      ("u-admin", "recording_hold_lifted")]  # fmt: skip


def test_parts_are_ordered_by_their_start_whatever_site_answered_first() -> None:
    row = {"legal_hold": False, "channels": 2, "audio": "/a", "cdr": None, "ended_at": None, "duration_s": 1.0}
    rows = [{**row, "call_id": "c", "site": "b", "id": 1, "started_at": 20.0},
            {**row, "call_id": "c", "site": "a", "id": 7, "started_at": 10.0},
            {**row, "call_id": "d", "site": "b", "id": 2, "started_at": 15.0}]  # fmt: skip
    calls = whole_calls(rows, {"a": "https://a", "b": "https://b"})
    assert [(c["call_id"], c["sites"]) for c in calls] == [("c", ["a", "b"]), ("d", ["b"])]
    assert calls[0]["parts"][0]["audio"] == "https://a/a"
