"""The contract of our etcd interface (``cluster/etcd.py``), checked against a real etcd.

Everything the code base relies on from etcd is here: KV, compare-and-swap on revisions,
leases (grant, keep-alive, revoke, expiry), prefix watches from a revision (and the error when
that revision was compacted), sessions and the election built on them. The tests take the client
from ``IMPLEMENTATIONS``: a replacement client (grpc.aio stubs from etcd's protos, ``aetcd``)
adds its ``connect`` there and must pass the same tests before it replaces ``etcd3aio``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from cluster.election import Election
from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd, EtcdCompacted, EventType, Session, WatchEvent
from cluster.keys import Keyspace

Connect = Callable[..., Awaitable[Any]]

# name -> ``connect(endpoints, timeout_s=...)`` returning an object with Etcd's interface
IMPLEMENTATIONS: dict[str, Connect] = {"etcd3aio": Etcd.connect}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def client(request: pytest.FixtureRequest, etcd_endpoints: list[str]) -> AsyncIterator[Etcd]:
    connected = await IMPLEMENTATIONS[request.param](etcd_endpoints, timeout_s=10)
    try:
        yield connected
    finally:
        await connected.close()


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 (polling etcd, nothing to await)
            await asyncio.sleep(0.1)


async def _collect(client: Etcd, prefix: str, start_revision: int, count: int) -> list[WatchEvent]:
    events: list[WatchEvent] = []
    async with asyncio.timeout(15):
        async for event in client.watch_prefix(prefix, start_revision=start_revision):
            events.append(event)
            if len(events) == count:
                return events
    return events


async def test_put_get_range_and_delete(client: Etcd, keyspace: Keyspace) -> None:
    p = keyspace.prefix
    first = await client.put(f"{p}/a", "1")
    second = await client.put(f"{p}/b", b"\x00\xff")
    await client.put(f"{p}x/outside", "no")  # shares the text prefix, not the "/" folder
    assert second > first

    kv = await client.get(f"{p}/a")
    assert kv is not None and kv.value == b"1" and kv.version == 1 and kv.lease == 0
    assert kv.create_revision == kv.mod_revision == first
    assert await client.get(f"{p}/missing") is None

    kvs, revision = await client.get_prefix(f"{p}/")
    assert [(k.key, k.value) for k in kvs] == [(f"{p}/a", b"1"), (f"{p}/b", b"\x00\xff")]
    assert revision >= second

    await client.put(f"{p}/a", "2")
    again = await client.get(f"{p}/a")
    assert again is not None and again.version == 2 and again.create_revision == first
    assert again.mod_revision > first

    assert await client.delete(f"{p}/a") == 1
    assert await client.delete(f"{p}/a") == 0
    assert await client.get(f"{p}/a") is None


async def test_txn_compare_and_swap_on_revisions(client: Etcd, keyspace: Keyspace) -> None:
    key = f"{keyspace.prefix}/cas"
    created = await client.txn([Etcd.absent(key)], [Etcd.op_put(key, "mine")], [Etcd.op_get(key)])
    assert created.succeeded
    lost = await client.txn([Etcd.absent(key)], [Etcd.op_put(key, "theirs")], [Etcd.op_get(key)])
    assert not lost.succeeded
    current = lost.responses[0].response_range.kvs[0]
    assert current.value == b"mine" and int(current.create_revision) == created.revision

    assert (await client.txn([Etcd.create_revision_is(key, created.revision)], [Etcd.op_put(key, "v2")])).succeeded
    kv = await client.get(key)
    assert kv is not None
    stale = await client.txn([Etcd.mod_revision_is(key, created.revision)], [Etcd.op_put(key, "stale")])
    assert not stale.succeeded
    fresh = await client.txn([Etcd.mod_revision_is(key, kv.mod_revision)], [Etcd.op_delete(key)])
    assert fresh.succeeded and fresh.revision > kv.mod_revision
    assert await client.get(key) is None


async def test_lease_grant_keepalive_revoke(client: Etcd, keyspace: Keyspace) -> None:
    lease = await client.grant(5)
    await client.put(f"{keyspace.prefix}/leased", "x", lease=lease)
    kv = await client.get(f"{keyspace.prefix}/leased")
    assert kv is not None and kv.lease == lease
    assert 0 < await client.keep_alive_once(lease, timeout=5) <= 5
    await client.revoke(lease)
    assert await client.get(f"{keyspace.prefix}/leased") is None
    assert await client.keep_alive_once(lease, timeout=5) <= 0  # gone: not an exception


async def test_an_unrefreshed_lease_expires_with_its_keys(client: Etcd, keyspace: Keyspace) -> None:
    lease = await client.grant(2)
    await client.put(f"{keyspace.prefix}/ephemeral", "x", lease=lease)

    async def gone() -> bool:
        return await client.get(f"{keyspace.prefix}/ephemeral") is None

    await _until(gone)


async def test_session_keeps_its_lease_and_revokes_on_close(client: Etcd, keyspace: Keyspace) -> None:
    session = await Session(client, ttl_s=2).start()
    key = f"{keyspace.prefix}/member"
    await client.put(key, "here", lease=session.lease_id)
    await asyncio.sleep(3)  # longer than the TTL: only the refresher keeps the key
    assert await client.get(key) is not None and not session.lost.is_set()
    await session.close()
    assert await client.get(key) is None and session.lost.is_set()


async def test_watch_from_a_revision_replays_then_follows(client: Etcd, keyspace: Keyspace) -> None:
    p = f"{keyspace.prefix}/w/"
    start = await client.put(f"{p}one", "1")
    await client.put(f"{p}two", "2")
    await client.delete(f"{p}one")
    await client.put(f"{keyspace.prefix}/other", "not watched")

    watcher = asyncio.create_task(_collect(client, p, start, 4))
    await asyncio.sleep(0.5)
    await client.put(f"{p}three", "3")
    events = await watcher
    assert [(e.type, e.key) for e in events] == [
        (EventType.PUT, f"{p}one"),
        (EventType.PUT, f"{p}two"),
        (EventType.DELETE, f"{p}one"),
        (EventType.PUT, f"{p}three"),
    ]
    assert events[0].mod_revision == start and events[1].value == b"2"
    assert all(a.mod_revision < b.mod_revision for a, b in itertools.pairwise(events))


async def test_watch_from_a_compacted_revision_says_so(client: Etcd, keyspace: Keyspace) -> None:
    p = f"{keyspace.prefix}/c/"
    old = await client.put(f"{p}k", "1")
    latest = await client.put(f"{p}k", "2")
    await client.compact(latest)
    with pytest.raises(EtcdCompacted) as raised:
        await _collect(client, p, old, 1)
    assert isinstance(raised.value, EtcdUnavailable)  # watchers' retry loops re-read on it
    assert raised.value.error_id == "etcd.compacted"
    assert raised.value.details["compact_revision"] == latest
    # what a watcher does next: re-read, watch from there
    kvs, revision = await client.get_prefix(p)
    assert [kv.value for kv in kvs] == [b"2"]
    watcher = asyncio.create_task(_collect(client, p, revision + 1, 1))
    await asyncio.sleep(0.3)
    await client.put(f"{p}k", "3")
    assert [e.value for e in await watcher] == [b"3"]


async def test_election_campaign_and_resign(client: Etcd, keyspace: Keyspace) -> None:
    prefix = f"{keyspace.prefix}/election/"
    first_session = await Session(client, ttl_s=5).start()
    second_session = await Session(client, ttl_s=5).start()
    first, second = Election(client, first_session, prefix), Election(client, second_session, prefix)
    try:
        leader = await first.campaign(b"first")
        assert leader.value == b"first" and first.fencing_token > 0
        waiting = asyncio.create_task(second.campaign(b"second"))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        current = await first.leader()
        assert current is not None and current.value == b"first"

        await first.resign()
        async with asyncio.timeout(15):
            successor = await waiting
        assert successor.value == b"second" and second.fencing_token > first.fencing_token
        now = await second.leader()
        assert now is not None and now.value == b"second"
    finally:
        for session in (first_session, second_session):
            with contextlib.suppress(EtcdUnavailable):
                await session.close()
