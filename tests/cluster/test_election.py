"""Leader election and fencing on a real etcd, with real processes killed and paused."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

import aiohttp
import pytest

from cluster.election import Election
from cluster.errors import NotLeader
from cluster.etcd import Etcd, Session
from cluster.etcd_server import free_port
from cluster.keys import Keyspace
from tests.fixtures_etcd import Procs

TTL_S = 2


async def _health(client: aiohttp.ClientSession, port: int) -> dict[str, object] | None:
    try:
        async with client.get(f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=1)) as r:
            body = await r.json()
            return body if isinstance(body, dict) else None
    except (aiohttp.ClientError, TimeoutError):
        return None


async def _wait_for(predicate, timeout_s: float, interval_s: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


async def test_candidates_lead_one_at_a_time_in_campaign_order(etcd: Etcd, keyspace: Keyspace) -> None:
    sessions = [await Session(etcd, TTL_S).start() for _ in range(3)]
    elections = [Election(etcd, s, keyspace.election("t")) for s in sessions]
    won: list[int] = []

    async def run(i: int) -> None:
        await elections[i].campaign(f"c{i}".encode())
        won.append(i)

    tasks = []
    for i in range(3):
        tasks.append(asyncio.create_task(run(i)))
        await asyncio.sleep(0.1)  # campaign order c0, c1, c2
    await asyncio.sleep(0.3)
    assert won == [0]
    observed = await elections[2].leader()
    assert observed is not None and observed.value == b"c0"
    assert observed.revision == elections[0].fencing_token

    await elections[0].resign()
    await asyncio.wait_for(tasks[1], 5)
    assert won == [0, 1]
    await elections[1].resign()
    await asyncio.wait_for(tasks[2], 5)
    assert won == [0, 1, 2]
    for task in tasks:
        await task
    for s in sessions:
        await s.close()


async def test_observe_reports_every_change_of_leader(etcd: Etcd, keyspace: Keyspace) -> None:
    s1, s2 = await Session(etcd, TTL_S).start(), await Session(etcd, TTL_S).start()
    e1, e2 = Election(etcd, s1, keyspace.election("o")), Election(etcd, s2, keyspace.election("o"))
    seen: list[bytes | None] = []
    first = asyncio.Event()

    async def observe() -> None:
        async for leader in e2.observe():
            seen.append(None if leader is None else leader.value)
            first.set()

    watcher = asyncio.create_task(observe())
    await asyncio.wait_for(first.wait(), 5)  # the observer reports "no leader" before anyone campaigns
    await e1.campaign(b"one")
    second = asyncio.create_task(e2.campaign(b"two"))
    await asyncio.sleep(0.2)
    await s1.close()  # revokes the lease: "one" is gone at once
    await asyncio.wait_for(second, 5)
    await e2.resign()
    await asyncio.sleep(0.3)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    await s2.close()
    assert seen == [None, b"one", b"two", None]


async def test_fenced_write_needs_current_leadership(etcd: Etcd, keyspace: Keyspace) -> None:
    s1, s2 = await Session(etcd, TTL_S).start(), await Session(etcd, TTL_S).start()
    e1, e2 = Election(etcd, s1, keyspace.election("f")), Election(etcd, s2, keyspace.election("f"))
    await e1.campaign(b"a")
    key = keyspace.config("x")
    assert (await e1.fenced_txn([], [Etcd.op_put(key, "a")])).succeeded
    # Own comparison failing while still leading is reported, not raised.
    lost_race = await e1.fenced_txn([Etcd.absent(key)], [Etcd.op_put(key, "again")])
    assert not lost_race.succeeded
    second = asyncio.create_task(e2.campaign(b"b"))
    await s1.close()
    await asyncio.wait_for(second, 5)
    e1._key = f"{e1.prefix}{s1.lease_id:016x}"  # a deposed leader that still believes it leads
    with pytest.raises(NotLeader) as refused:
        await e1.fenced_txn([], [Etcd.op_put(key, "stale")])
    assert refused.value.error_id == "cluster.not_leader"
    kv = await etcd.get(key)
    assert kv is not None and kv.value == b"a"
    await s2.close()


async def test_exactly_one_central_leads_and_it_is_etcds_leader(
    etcd: Etcd, keyspace: Keyspace, procs: Procs, proc_env: dict[str, str]
) -> None:
    ports = [free_port() for _ in range(3)]
    for i, port in enumerate(ports):
        procs.cli("central", "--name", f"c{i}", "--port", str(port), env=proc_env)
    observer = Election(etcd, Session(etcd, TTL_S), keyspace.election("central"))
    async with aiohttp.ClientSession() as client:
        async def all_up() -> bool:
            healths = [await _health(client, p) for p in ports]
            return all(h is not None for h in healths) and any(h and h["leader"] for h in healths)

        await _wait_for(all_up, 30)
        for _ in range(20):
            leader = await observer.leader()
            healths = [await _health(client, p) for p in ports]
            claiming = [h["name"] for h in healths if h and h["leader"]]
            assert leader is not None
            assert claiming == [json.loads(leader.value)["name"]]
            await asyncio.sleep(0.1)


async def test_sigkill_leader_another_leads_within_ttl_plus_1s(
    etcd: Etcd, keyspace: Keyspace, procs: Procs, proc_env: dict[str, str]
) -> None:
    ports = {f"c{i}": free_port() for i in range(3)}
    running = {
        name: procs.cli("central", "--name", name, "--port", str(port), env=proc_env) for name, port in ports.items()
    }
    observer = Election(etcd, Session(etcd, TTL_S), keyspace.election("central"))
    changes: list[tuple[float, str | None]] = []
    first = asyncio.Event()

    async def watch() -> None:
        async for leader in observer.observe():
            changes.append((time.monotonic(), None if leader is None else json.loads(leader.value)["name"]))
            if leader is not None:
                first.set()

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(first.wait(), 30)
    await asyncio.sleep(0.5)  # all three are candidates by now
    old = changes[-1][1]
    assert old is not None
    killed_at = time.monotonic()
    running[old].send_signal(signal.SIGKILL)

    async def new_leader() -> bool:
        return changes[-1][1] not in (None, old)

    await _wait_for(new_leader, TTL_S + 3)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    took = changes[-1][0] - killed_at
    assert took <= TTL_S + 1.0, f"new leader after {took:.2f} s"


async def test_paused_leader_cannot_write_after_its_lease_ends(
    etcd: Etcd, keyspace: Keyspace, procs: Procs, proc_env: dict[str, str]
) -> None:
    script = "tests/helpers/candidate.py"
    a = procs.start([sys.executable, script, "A"], proc_env, stdin=True)
    assert a.stdout is not None and a.stdin is not None
    line = await asyncio.wait_for(asyncio.to_thread(a.stdout.readline), 20)
    assert line.startswith("LEADER")
    b = procs.start([sys.executable, script, "B"], proc_env, stdin=True)
    assert b.stdout is not None and b.stdin is not None
    key = keyspace.config("fenced")

    a.stdin.write(f"WRITE {key}\n")
    a.stdin.flush()
    assert (await asyncio.wait_for(asyncio.to_thread(a.stdout.readline), 10)).strip() == "WRITE ok"

    a.send_signal(signal.SIGSTOP)  # paused past its lease: B takes over
    line = await asyncio.wait_for(asyncio.to_thread(b.stdout.readline), TTL_S + 10)
    assert line.startswith("LEADER")
    a.stdin.write(f"WRITE {key}\n")
    a.stdin.flush()
    a.send_signal(signal.SIGCONT)  # wakes up late, still "believing" it leads
    answer = (await asyncio.wait_for(asyncio.to_thread(a.stdout.readline), 10)).strip()
    assert answer == "WRITE refused cluster.not_leader"
    kv = await etcd.get(key)
    assert kv is not None and kv.value == b"A"  # A's first write, nothing after

    b.stdin.write(f"WRITE {key}\n")
    b.stdin.flush()
    assert (await asyncio.wait_for(asyncio.to_thread(b.stdout.readline), 10)).strip() == "WRITE ok"
    kv = await etcd.get(key)
    assert kv is not None and kv.value == b"B"
