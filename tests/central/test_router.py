"""The leader's router on a real etcd: fenced routing records, failover in order, overflow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from central.routing.classify import Classifier
from central.routing.router import Router
from central.state import ClusterState
from cluster.callrecords import CallRecord, OwnershipLost, SiteCallStore
from cluster.clock import ManualClock
from cluster.election import Election
from cluster.errors import NotLeader
from cluster.etcd import Etcd, Session
from cluster.keys import Keyspace
from cluster.membership import Membership, Registration

TTL = 2


def load(ready: int, staffed: int = 3, wait: float = 0.0) -> dict[str, float]:
    return {"staffed": staffed, "ready": ready, "waiting": 0, "expected_wait_s": wait}


@dataclass
class World:
    etcd: Etcd
    keys: Keyspace
    state: ClusterState
    router: Router
    election: Election
    leader_session: Session
    sites: dict[str, tuple[Session, Registration]]
    clock: ManualClock

    async def add_site(self, name: str, skills: dict[str, dict[str, float]], backup: list[str]) -> None:
        session = await Session(self.etcd, TTL).start()
        reg = await Membership(self.etcd, self.keys).register(
            session, name, {"url": f"http://{name}", "ws_url": f"ws://{name}/ws", "skills": skills,
                            "backup_sites": backup}, publish_interval_s=0.1,
        )
        self.sites[name] = (session, reg)
        await until(lambda: name in self.state.sites)


async def until(predicate, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


@pytest.fixture
async def world(etcd: Etcd, keyspace: Keyspace) -> AsyncIterator[World]:
    clock = ManualClock(1_800_000_000.0)
    state = ClusterState(etcd, keyspace)
    await state.start()
    router = Router(etcd, keyspace, state, Classifier.load(), name="central-t", clock=clock)
    session = await Session(etcd, TTL).start()
    election = Election(etcd, session, keyspace.election("central"))
    await election.campaign(b'{"name": "central-t"}')
    await router.lead(election)
    w = World(etcd, keyspace, state, router, election, session, {}, clock)
    try:
        yield w
    finally:
        await router.stop()
        await state.stop()
        for s, reg in w.sites.values():
            await reg.stop()
            await s.close()
        await session.close()


async def test_route_writes_one_fenced_record(world: World) -> None:
    await world.add_site("north", {"retail": load(2)}, ["south"])
    routed = await world.router.route("+15550001", "8000")
    kv = await world.etcd.get(world.keys.call(routed.record.call_id))
    assert kv is not None
    record = CallRecord.from_kv(kv)
    assert (record.site, record.state, record.skill, record.fencing_token) == (
        "north", "routed", "retail", world.election.fencing_token)
    assert kv.version == 1  # one write


async def test_failover_moves_every_call_keeping_id_data_order_and_priority(world: World) -> None:
    await world.add_site("north", {"retail": load(0, wait=1)}, ["south"])
    await world.add_site("east", {"retail": load(0, wait=5)}, [])
    store = SiteCallStore(world.etcd, world.keys, "north")
    ids = []
    for i in range(6):
        world.clock.advance(1)
        routed = await world.router.route(f"+1555000{i}", "8000")
        assert routed.record.site == "north"
        record = await store.claim(routed.record.call_id)
        state, agent = ("connected", f"agent-{i}") if i % 3 == 0 else ("queued", None)
        await store.update(record, state=state, agent_id=agent, data={"customer": f"c{i}", "ivr": {"menu": "1"}})
        ids.append(routed.record.call_id)
    await world.add_site("south", {"retail": load(1)}, [])
    before = {c: world.state.calls[c] for c in ids}
    north_session, north_reg = world.sites.pop("north")
    await north_reg.stop(leave=False)
    await north_session.close()  # the site's lease ends
    await until(lambda: all(world.state.calls[c].site != "north" for c in ids))
    for call_id in ids:
        old, new = before[call_id], world.state.calls[call_id]
        assert new.site == "south"  # the backup: its agents re-attach there
        assert (new.call_id, new.data, new.original_arrival_at, new.priority, new.agent_id) == (
            old.call_id, old.data, old.original_arrival_at, old.priority, old.agent_id)
        moved = (new.state, new.state_before_move, new.failovers, new.sites)
        assert moved == ("moving", old.state, 1, ("north", "south"))
    queued = sorted((c for c in world.state.calls_at("south") if c.state_before_move == "queued"),
                    key=lambda c: c.queue_order)
    assert [c.call_id for c in queued] == [c for i, c in enumerate(ids) if i % 3 != 0]


async def test_site_that_lost_a_call_cannot_write_it(world: World) -> None:
    await world.add_site("north", {"retail": load(1)}, ["south"])
    await world.add_site("south", {"retail": load(0, wait=9)}, [])
    routed = await world.router.route("+15550009", "8000")
    north = SiteCallStore(world.etcd, world.keys, "north")
    record = await north.claim(routed.record.call_id)
    assert await world.router.move(world.state.calls[record.call_id], "south", reason="test")
    with pytest.raises(OwnershipLost):
        await north.update(record, state="queued")
    with pytest.raises(OwnershipLost):
        await north.finish(record)
    with pytest.raises(OwnershipLost):
        await north.claim(record.call_id)
    south = SiteCallStore(world.etcd, world.keys, "south")
    mine = await south.claim(record.call_id)
    mine = await south.update(mine, state="queued")
    await south.finish(mine)
    assert await world.etcd.get(world.keys.call(record.call_id)) is None


async def test_a_call_ended_at_the_site_that_lost_it_has_one_outcome(world: World) -> None:
    """North was cut off past its lease and its caller hung up there once back; south had read
    the moved record (the caller also re-joined) and ends its part too: one outcome, north's."""
    await world.add_site("north", {"retail": load(1)}, ["south"])
    await world.add_site("south", {"retail": load(0, wait=9)}, [])
    routed = await world.router.route("+15550010", "8000")
    north = SiteCallStore(world.etcd, world.keys, "north")
    south = SiteCallStore(world.etcd, world.keys, "south")
    lost = await north.claim(routed.record.call_id)
    assert await world.router.move(world.state.calls[lost.call_id], "south", reason="failover")
    rejoined = await south.claim(lost.call_id)  # read before north's tombstone
    with pytest.raises(OwnershipLost):
        await north.finish(lost)
    assert await north.tombstone(lost.call_id)  # the outcome stays north's
    assert await north.tombstone(lost.call_id)  # (idempotent)
    with pytest.raises(OwnershipLost):
        await south.finish(rejoined)
    assert not await south.tombstone(lost.call_id)  # south's part ends as failed_over
    with pytest.raises(OwnershipLost):
        await south.claim(lost.call_id)  # and nobody claims an ended call


async def test_deposed_leader_cannot_route_or_move(world: World) -> None:
    await world.add_site("north", {"retail": load(1)}, [])
    routed = await world.router.route("+15550010", "8000")
    await world.leader_session.close()  # leadership gone (key revoked)
    with pytest.raises(NotLeader):
        await world.router.route("+15550011", "8000")
    with pytest.raises(NotLeader):
        await world.router.move(routed.record, "north", reason="test")
    await world.router.step_down()
    with pytest.raises(NotLeader):
        await world.router.route("+15550012", "8000")


async def test_cross_site_overflow_moves_long_waiters_only_when_configured(world: World) -> None:
    await world.add_site("north", {"retail": load(0, wait=60)}, [])
    routed = await world.router.route("+15550020", "8000")
    store = SiteCallStore(world.etcd, world.keys, "north")
    await store.update(await store.claim(routed.record.call_id), state="queued")
    await world.add_site("south", {"retail": load(2, wait=0)}, [])
    await until(lambda: world.state.calls[routed.record.call_id].state == "queued")
    world.clock.advance(120)
    assert await world.router.overflow_once() == 0  # off by default
    world.router.overflow_after_s = {"retail": 60}
    assert await world.router.overflow_once() == 1
    await until(lambda: world.state.calls[routed.record.call_id].site == "south")


async def test_failover_moves_in_one_fenced_batch_and_falls_back_call_by_call(world: World) -> None:
    await world.add_site("north", {"retail": load(1)}, ["south"])
    await world.add_site("south", {"retail": load(0, wait=9)}, [])
    store = SiteCallStore(world.etcd, world.keys, "north")
    ids = []
    for i in range(4):
        world.clock.advance(1)
        routed = await world.router.route(f"+1555100{i}", "8000")
        record = await store.claim(routed.record.call_id)
        await store.update(record, state="queued")
        ids.append(routed.record.call_id)
    await until(lambda: all(world.state.calls[c].state == "queued" for c in ids))
    # a stale copy in the hot copy (the watch not there yet): the batch fails, each call is re-read
    stale = world.state.calls[ids[1]]
    fresh = await store.update(await store.claim(ids[1]), state="queued", data={"late": "write"})
    world.state.calls[ids[1]] = stale
    moved = await world.router.fail_over("north", {"backup_sites": ["south"]})
    assert moved == 4
    revisions = set()
    for call_id in ids:
        kv = await world.etcd.get(world.keys.call(call_id))
        assert kv is not None
        record = CallRecord.from_kv(kv)
        assert (record.site, record.state, record.failovers) == ("south", "moving", 1)
        revisions.add(kv.mod_revision)
    assert CallRecord.from_kv(await world.etcd.get(world.keys.call(ids[1]))).data == fresh.data  # type: ignore[arg-type]
    assert len(revisions) == 4  # call by call after the failed batch

    # without a stale copy: one transaction for the whole site
    again = []
    for i in range(3):
        routed = await world.router.route(f"+1555200{i}", "8000")
        await store.update(await store.claim(routed.record.call_id), state="queued")
        again.append(routed.record.call_id)
    await until(lambda: all(world.state.calls[c].state == "queued" for c in again))
    assert await world.router.fail_over("north", {"backup_sites": ["south"]}) == 3
    kvs = [await world.etcd.get(world.keys.call(c)) for c in again]
    assert all(kv is not None and CallRecord.from_kv(kv).site == "south" for kv in kvs)
    assert len({kv.mod_revision for kv in kvs if kv is not None}) == 1
