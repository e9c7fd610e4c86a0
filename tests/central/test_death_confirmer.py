"""The confirmer on a real etcd with the leader's router: a refused site is ended by a fenced
write and failed over before its lease would expire; a site that only times out is left to
its lease; reports are coalesced; a stale confirmation never removes a site that came back.
The probe itself against real sockets: refused, unresponsive (listening, never answering),
healthy."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from central.failure.confirmer import PROBES, DeathConfirmer
from central.failure.detector import Phase, ProbePolicy, Verdict
from central.failure.probe import HttpProbe
from central.failure.rejoin import call_settled
from cluster.callrecords import SiteCallStore
from cluster.keys import Keyspace
from tests.central.test_router import World, load, until, world  # noqa: F401  (the fixture)


class FakeProbe:
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.urls: list[str] = []

    async def __call__(self, url: str) -> Verdict:
        self.urls.append(url)
        await asyncio.sleep(0)
        return self.verdict


@pytest.fixture
async def north(world: World) -> AsyncIterator[str]:  # noqa: F811
    await world.add_site("north", {"retail": load(1)}, ["south"])
    await world.add_site("south", {"retail": load(0, wait=9)}, [])
    yield "north"


def confirmer(world: World, probe: FakeProbe, **kwargs: object) -> DeathConfirmer:  # noqa: F811
    return DeathConfirmer(world.state, world.router, probe, policy=ProbePolicy(2, 0.0, 1.0),
                          clock=world.clock, **kwargs)  # type: ignore[arg-type]


async def queued_call(world: World, caller: str) -> str:  # noqa: F811
    routed = await world.router.route(caller, "8000")
    store = SiteCallStore(world.etcd, world.keys, routed.record.site)
    record = await store.claim(routed.record.call_id)
    await store.update(record, state="queued")
    return routed.record.call_id


async def test_refused_site_is_fenced_out_and_failed_over_while_its_lease_lives(world: World, north: str) -> None:  # noqa: F811
    call_id = await queued_call(world, "+15550001")
    probe = FakeProbe(Verdict.REFUSED)
    refused_before = PROBES.labels("refused")._value.get()
    dc = confirmer(world, probe)
    try:
        lost_at = world.clock.now()
        dc.report(north)
        for _ in range(5):
            dc.report(north)  # a crowd of clients: one round
        await until(lambda: world.state.calls[call_id].site == "south")
        assert probe.urls == ["http://north", "http://north"]  # two refusals, nothing more
        assert PROBES.labels("refused")._value.get() - refused_before == 2
        session, _ = world.sites["north"]
        assert await world.etcd.keep_alive_once(session.lease_id, timeout=2) <= 0  # revoked
        death = await world.etcd.get(world.keys.death(north))
        assert death is not None
        info = json.loads(death.value)
        assert info["evidence"] == "connection refused x2" and info["fencing_token"] == world.election.fencing_token
        moved = world.state.calls[call_id]
        assert moved.failovers == 1 and moved.fencing_token == world.election.fencing_token
        assert moved.history["moves"][-1]["lost_at"] == pytest.approx(lost_at)  # the gap starts when clients lost it
    finally:
        await dc.stop()
        world.sites.pop("north")


@pytest.mark.parametrize("verdict", [Verdict.UNRESPONSIVE, Verdict.UNREACHABLE, Verdict.HEALTHY])
async def test_a_site_that_is_only_slow_paused_or_cut_off_keeps_its_calls(
    world: World, north: str, verdict: Verdict  # noqa: F811
) -> None:
    call_id = await queued_call(world, "+15550002")
    probe = FakeProbe(verdict)
    dc = confirmer(world, probe)
    try:
        dc.report(north)
        await until(lambda: dc.verdict(north) is verdict)
        dc.report(north)  # within the cooldown: no new probe
        await asyncio.sleep(0.1)
        assert probe.urls == ["http://north"]
        assert north in world.state.sites and world.state.calls[call_id].site == "north"
        assert await world.etcd.get(world.keys.death(north)) is None
        world.clock.advance(1.0)
        dc.report(north)  # after the cooldown: one more round
        await until(lambda: len(probe.urls) == 2)
        settled = await call_settled(world.state, dc, call_id, 0.2)
        assert settled is (verdict is Verdict.HEALTHY)  # only a healthy site is rejoined at once
    finally:
        await dc.stop()


async def test_a_follower_probes_but_only_tells_the_leader(world: World, north: str) -> None:  # noqa: F811
    told: list[str] = []

    async def tell(site: str) -> None:
        told.append(site)

    await world.router.step_down()  # this replica follows now
    probe = FakeProbe(Verdict.REFUSED)
    dc = confirmer(world, probe, tell_leader=tell)
    try:
        dc.report(north)
        await until(lambda: (c := dc.check(north)) is not None and c.phase is Phase.CONFIRMED)
        assert told == [north] and north in world.state.sites
        assert await world.etcd.get(world.keys.death(north)) is None
    finally:
        await dc.stop()


async def test_a_stale_confirmation_never_removes_a_site_that_registered_again(world: World, north: str) -> None:  # noqa: F811
    old = world.state.registrations[north]
    session, reg = world.sites.pop(north)
    await reg.stop(leave=True)
    await session.close()
    await until(lambda: north not in world.state.sites)
    await world.add_site(north, {"retail": load(1)}, ["south"])  # the restarted process
    assert world.state.registrations[north] != old
    assert not await world.router.confirm_dead(north, old, lost_at=world.clock.now(), evidence="test")
    assert north in world.state.sites


async def test_disabled_confirmer_never_probes(world: World, north: str) -> None:  # noqa: F811
    probe = FakeProbe(Verdict.REFUSED)
    dc = confirmer(world, probe, enabled=False)
    dc.report(north)
    await asyncio.sleep(0.05)
    assert probe.urls == [] and north in world.state.sites
    await dc.stop()


# --- the probe against real sockets -----------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_probe_of_a_port_nobody_listens_on_is_refused() -> None:
    assert await HttpProbe(0.5)(f"http://127.0.0.1:{_free_port()}") is Verdict.REFUSED


async def test_probe_of_a_process_that_listens_but_never_answers_is_unresponsive() -> None:
    with socket.socket() as server:  # like a SIGSTOPped site: the kernel accepts, nobody reads
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        assert await HttpProbe(0.2)(f"http://127.0.0.1:{port}") is Verdict.UNRESPONSIVE


async def test_probe_of_a_live_site_is_healthy() -> None:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        assert await HttpProbe(1.0)(f"http://127.0.0.1:{port}") is Verdict.HEALTHY
    finally:
        await runner.cleanup()


def test_keys_of_deaths() -> None:
    assert Keyspace("/cc").death("north") == "/cc/deaths/north"

