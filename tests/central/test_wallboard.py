"""The wallboard (M3): the pure snapshot, the stream's pacing, the routes, and the page in a
real headless Chromium fed by a real CentralNode watching a real etcd."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from central.config import CentralSettings
from central.node import CentralNode
from central.wallboard import build_snapshot
from central.wallboard.api import install
from central.wallboard.stream import Pacer, Push, sse_event
from cluster.config import load_settings
from cluster.etcd import Etcd, Session
from cluster.keys import Keyspace
from cluster.membership import Membership

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def queue(skill: str, waiting: int = 0, *, longest: float = 0.0, staffed: int = 2, ready: int = 1,
          answered: int = 0, sl: float | None = None) -> dict[str, Any]:
    return {"skill": skill, "waiting": waiting, "longest_wait_s": longest, "staffed": staffed,
            "ready": ready, "answered": answered, "service_level": sl, "sl_threshold_s": 20.0}


def site_info(queues: dict[str, dict[str, Any]], **agents: int) -> dict[str, Any]:
    return {
        "url": "http://x", "ws_url": "ws://x/ws",
        "skills": {q["skill"]: {"staffed": q["staffed"], "ready": q["ready"],
                                "waiting": q["waiting"], "expected_wait_s": 0.0}
                   for q in queues.values()},
        "queues": queues,
        "agents_by_state": {"ready": 0, "on_call": 0, **agents},
        "agents": {},
        "live_calls": sum(q["waiting"] for q in queues.values()),
    }


# --- the pure snapshot ------------------------------------------------------------------


def test_snapshot_per_site_per_queue_and_total() -> None:
    sites = {
        "north": site_info(
            {"retail": queue("retail", 3, longest=42.4, answered=30, sl=0.9),
             "cards": queue("cards", 0, answered=10, sl=0.5)},
            ready=2, on_call=5,
        ),
        "south": site_info({"retail": queue("retail", 1, longest=70.0, answered=60, sl=0.75)},
                           ready=1, after_call_work=1),
    }
    snap = build_snapshot(sites, {})
    north, south = snap["sites"]
    assert [s["site"] for s in snap["sites"]] == ["north", "south"]
    assert [q["queue"] for q in north["queues"]] == ["cards", "retail"]  # by name
    assert (north["waiting"], north["longest_wait_s"], north["answered"]) == (3, 42.4, 40)
    assert north["service_level"] == pytest.approx((0.9 * 30 + 0.5 * 10) / 40)  # in_sl / answered
    assert north["agents_by_state"]["on_call"] == 5 and north["agents_by_state"]["logged_out"] == 0
    assert south["queues"][0] == {
        "queue": "retail", "skill": "retail", "waiting": 1, "longest_wait_s": 70.0, "staffed": 2,
        "ready": 1, "answered": 60, "service_level": 0.75, "sl_threshold_s": 20.0,
    }
    total = snap["total"]
    assert (total["sites_live"], total["sites_left"], total["waiting"]) == (2, 0, 4)
    assert total["longest_wait_s"] == 70.0
    assert total["service_level"] == pytest.approx((27 + 5 + 45) / 100)
    assert total["agents_by_state"]["ready"] == 3
    assert total["agents_by_state"]["after_call_work"] == 1
    assert total["live_calls"] == 4


def test_snapshot_marks_sites_that_left_and_leaves_them_out_of_totals() -> None:
    sites = {"north": site_info({"retail": queue("retail", 2, longest=5.0)}, ready=1)}
    departed = {"east": site_info({"retail": queue("retail", 9, longest=99.0)}, ready=7),
                "north": {}}  # came back: live wins
    snap = build_snapshot(sites, departed)
    assert [(s["site"], s["status"]) for s in snap["sites"]] == [("east", "left"), ("north", "live")]
    east = snap["sites"][0]
    assert (east["waiting"], east["queues"], east["service_level"]) == (0, [], None)
    assert (snap["total"]["waiting"], snap["total"]["sites_left"]) == (2, 1)
    assert snap["total"]["agents_by_state"]["ready"] == 1


def test_snapshot_of_sites_without_load_or_with_bad_values() -> None:
    sites: dict[str, dict[str, Any]] = {
        "booting": {"url": "http://b"},  # registered, no load summary yet
        "odd": {"queues": {"q": {"waiting": -3, "longest_wait_s": "long", "answered": True,
                                 "service_level": 1.7}},
                "agents_by_state": {"ready": "x", "on_call": 2}, "live_calls": None},
    }
    snap = build_snapshot(sites, {})
    booting, odd = snap["sites"]
    assert (booting["queues"], booting["waiting"], booting["longest_wait_s"]) == ([], 0, None)
    assert booting["service_level"] is None
    q = odd["queues"][0]
    assert (q["skill"], q["waiting"], q["longest_wait_s"], q["answered"]) == ("q", 0, None, 0)
    assert q["service_level"] == 1.0
    assert odd["agents_by_state"]["ready"] == 0 and odd["agents_by_state"]["on_call"] == 2
    assert snap["total"] == {
        "sites_live": 2, "sites_left": 0, "waiting": 0, "longest_wait_s": None, "answered": 0,
        "service_level": None, "live_calls": 0,
        "agents_by_state": {**{s: 0 for s in odd["agents_by_state"]}, "on_call": 2},
    }
    json.dumps(snap, allow_nan=False)  # always plain JSON


def test_empty_cluster() -> None:
    snap = build_snapshot({}, {})
    assert snap["sites"] == [] and snap["total"]["sites_live"] == 0
    assert snap["total"]["service_level"] is None


# --- pacing of the stream ---------------------------------------------------------------


def test_pacer_sends_changes_at_most_every_half_second_and_heartbeats_after_ten() -> None:
    pacer = Pacer()
    a, b, c = {"v": 1}, {"v": 2}, {"v": 3}
    steps = [(a, 0.0), (a, 0.1), (b, 0.3), (b, 0.5), (c, 0.6), (c, 0.9), (c, 1.0), (c, 10.9),
             (c, 11.0), (c, 20.9), (c, 21.0), (a, 21.2), (a, 21.5)]
    got = [pacer.step(snap, now) for snap, now in steps]
    assert got == [Push.SNAPSHOT, None, None, Push.SNAPSHOT, None, None, Push.SNAPSHOT, None,
                   Push.HEARTBEAT, None, Push.HEARTBEAT, Push.SNAPSHOT, None]


def test_sse_event_format() -> None:
    assert sse_event(Push.SNAPSHOT, {"a": [1]}) == b'event: snapshot\ndata: {"a":[1]}\n\n'
    assert sse_event(Push.HEARTBEAT, {"a": [1]}) == b"event: heartbeat\ndata: {}\n\n"


# --- the routes on an aiohttp app, with a plain object as the state ---------------------


class FakeState:
    def __init__(self) -> None:
        self.sites: dict[str, dict[str, Any]] = {}
        self.departed: dict[str, dict[str, Any]] = {}


async def _events(resp: aiohttp.ClientResponse, count: int) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    kind = ""
    while len(events) < count:
        line = (await asyncio.wait_for(resp.content.readline(), 5)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[6:])))
    return events


Routes = tuple[TestClient[Any, Any], FakeState, list[Any], list[float]]


@pytest.fixture
async def routes_client() -> AsyncIterator[Routes]:
    state = FakeState()
    current: list[Any] = [None]  # None while "central starts"
    clock = [0.0]  # the stream's pacing reads this clock; the test moves it
    app = web.Application()
    install(app, lambda: current[0], poll_s=0.02, clock=lambda: clock[0])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, state, current, clock
    finally:
        await client.close()


async def test_routes_page_json_and_stream(routes_client: Routes) -> None:
    client, state, current, clock = routes_client
    page = await client.get("/wallboard")
    html = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    assert 'type="module"' in html and "/wallboard/wallboard.js" in html and "http" not in html
    js = await client.get("/wallboard/wallboard.js")
    assert js.content_type == "text/javascript" and "EventSource" in await js.text()
    assert (await client.get("/wallboard/wallboard.css")).status == 200
    assert (await client.get("/wallboard/secrets.txt")).status == 404

    starting = await (await client.get("/v1/wallboard")).json()
    assert starting["ready"] is False and starting["sites"] == []
    current[0] = state
    state.sites["north"] = site_info({"retail": queue("retail", 0)})
    ready = await (await client.get("/v1/wallboard")).json()
    assert ready["ready"] is True and ready["sites"][0]["site"] == "north"

    resp = await client.get("/v1/wallboard/stream")
    assert resp.headers["Content-Type"] == "text/event-stream"
    (kind, first), = await _events(resp, 1)
    assert kind == "snapshot" and first["total"]["waiting"] == 0
    state.sites["north"] = site_info({"retail": queue("retail", 1)})
    await asyncio.sleep(0.1)  # seen, but 0.5 s have not passed since the last snapshot
    clock[0] = 0.5
    (kind, second), = await _events(resp, 1)
    assert kind == "snapshot" and second["total"]["waiting"] == 1
    clock[0] = 10.5  # nothing changed for 10 s: a heartbeat
    (kind, beat), = await _events(resp, 1)
    assert (kind, beat) == ("heartbeat", {})
    state.departed["north"] = state.sites.pop("north")
    clock[0] = 11.0
    (kind, third), = await _events(resp, 1)
    assert [(s["site"], s["status"]) for s in third["sites"]] == [("north", "left")]
    resp.close()


# --- end to end: etcd, a CentralNode, a site's membership, the page in Chromium ----------


async def _until(predicate: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


@pytest.mark.browser
async def test_wallboard_in_chromium_shows_a_queued_call_within_two_seconds(
    etcd: Etcd, etcd_endpoints: list[str], keyspace: Keyspace
) -> None:
    from playwright.async_api import async_playwright

    settings = load_settings(environ={}, model=CentralSettings, overrides={
        "etcd": {"endpoints": etcd_endpoints, "prefix": keyspace.prefix, "lease_ttl_s": 2},
        "central": {"name": "central-wb", "http": {"port": 0}},
        "tokens": {"secret": secrets.token_urlsafe(48)},
    })
    node = CentralNode(settings)
    await node.start()
    session = await Session(etcd, 2).start()
    reg = await Membership(etcd, keyspace).register(
        session, "branch-wb", site_info({"retail": queue("retail", 0, answered=8, sl=0.75)},
                                        ready=1, on_call=1),
        publish_interval_s=0.1,
    )
    try:
        await _until(lambda: node.state is not None and "branch-wb" in node.state.sites)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{node.url}/v1/wallboard") as resp:
                snap = await resp.json()
        assert snap["ready"] and snap["sites"][0]["queues"][0]["waiting"] == 0

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                               args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1100, "height": 700})
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(f"{node.url}/wallboard")
                cell = page.locator(
                    '[data-site="branch-wb"] tr[data-queue="retail"] td[data-key="waiting"]')
                await cell.wait_for(timeout=10_000)
                assert (await cell.text_content()) == "0"
                sl = page.locator('[data-site="branch-wb"] tr[data-queue="retail"] '
                                  'td[data-key="service_level"]')
                assert (await sl.text_content()) == "75%"  # Intl, per locale (en-GB)
                assert await page.get_by_role("table", name="Queues of branch-wb").count() == 1

                # a call queues at the site: it republishes its load summary
                loop = asyncio.get_running_loop()
                reg.update(queues={"retail": queue("retail", 1, longest=3.0, answered=8, sl=0.75)},
                           live_calls=1)
                started = loop.time()
                shown = ""
                while loop.time() - started <= 2.0:
                    shown = await cell.text_content() or ""
                    if shown == "1":
                        break
                    await asyncio.sleep(0.05)
                assert shown == "1", "the queued call did not show within 2 s"
                total = page.locator('#total dd[data-key="waiting"]')
                assert (await total.text_content()) == "1"
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "wallboard.png"), full_page=True)

                # the site leaves: the board marks it
                await reg.stop()
                card = page.locator('[data-site="branch-wb"]')
                await _until_async(lambda: card.get_attribute("data-status"), "left")
                assert (await total.text_content()) == "0"
                assert errors == []
            finally:
                await browser.close()
    finally:
        await reg.stop()
        await session.close()
        await node.stop()


async def _until_async(probe: Any, expected: str, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if await probe() == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never became {expected!r}")
