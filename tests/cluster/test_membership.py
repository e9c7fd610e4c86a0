"""Site membership on a real etcd with real site processes."""

from __future__ import annotations

import asyncio
import signal
import time

from cluster.etcd import Etcd, Session
from cluster.etcd_server import free_port
from cluster.keys import Keyspace
from cluster.membership import MemberChange, MemberEvent, Membership
from tests.fixtures_etcd import Procs

TTL_S = 2


async def _collect(membership: Membership, events: list[tuple[float, MemberEvent]]) -> None:
    async for event in membership.watch():
        events.append((time.monotonic(), event))


async def _until(events: list[tuple[float, MemberEvent]], change: MemberChange, name: str, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for at, event in events:
            if event.change is change and event.name == name:
                return at
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {change.value} event for {name} within {timeout_s} s: {events}")


async def test_register_update_leave_sequence(etcd: Etcd, keyspace: Keyspace) -> None:
    membership = Membership(etcd, keyspace)
    events: list[tuple[float, MemberEvent]] = []
    watcher = asyncio.create_task(_collect(membership, events))
    session = await Session(etcd, TTL_S).start()
    registration = await membership.register(session, "north", {"url": "http://n"}, publish_interval_s=0.2)
    for ready in range(1, 6):  # a burst of updates is coalesced
        registration.update(ready_agents=ready)
    await _until(events, MemberChange.CHANGED, "north", 3)
    await asyncio.sleep(0.5)
    assert registration.writes <= 3
    assert (await membership.members())["north"]["ready_agents"] == 5
    await registration.stop()
    await _until(events, MemberChange.LEFT, "north", 3)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    await session.close()
    kinds = [e.change for _, e in events]
    assert kinds[0] is MemberChange.JOINED and kinds[-1] is MemberChange.LEFT
    assert set(kinds[1:-1]) == {MemberChange.CHANGED}


async def test_killed_site_leaves_within_ttl_and_stopped_site_at_once(
    etcd: Etcd, keyspace: Keyspace, procs: Procs, proc_env: dict[str, str], tmp_path
) -> None:
    membership = Membership(etcd, keyspace)
    events: list[tuple[float, MemberEvent]] = []
    watcher = asyncio.create_task(_collect(membership, events))
    sites = {
        name: procs.cli("site", "--name", name, "--port", str(free_port()), "--data-dir", str(tmp_path), env=proc_env)
        for name in ("north", "south")
    }
    for name in sites:
        await _until(events, MemberChange.JOINED, name, 30)

    killed_at = time.monotonic()
    sites["north"].send_signal(signal.SIGKILL)
    left_at = await _until(events, MemberChange.LEFT, "north", TTL_S + 5)
    assert left_at - killed_at <= TTL_S + 1.0

    stopped_at = time.monotonic()
    sites["south"].send_signal(signal.SIGTERM)
    left_at = await _until(events, MemberChange.LEFT, "south", TTL_S + 5)
    assert left_at - stopped_at < TTL_S  # revoked on the way out, not expired
    assert sites["south"].wait(timeout=10) == 0
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
