"""The event log on a real PostgreSQL: appends from two replicas store each event once, offsets in order."""

from __future__ import annotations

import asyncio

import pytest

from central.business.db import migrate
from central.events.derive import Event
from central.events.store import EventStore
from site_node.storage.engine import create_engine
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401


@pytest.mark.postgres
async def test_two_replicas_appending_the_same_events_store_each_once_in_order(postgres_url: str) -> None:  # noqa: F811
    url = await create_database(postgres_url)
    engine = create_engine(url)
    try:
        await migrate(url)
        events = [Event(f"call:c{i % 3}:{i}", "call.queued", float(i), {"state": "queued"}, call_id=f"c{i % 3}")
                  for i in range(30)]  # fmt: skip
        one, two = EventStore(engine), EventStore(engine)
        added = await asyncio.gather(*(store.append([e]) for e in events for store in (one, two)))
        assert sum(added) == 30
        stored = await one.after(0, 100)
        assert sorted(e.event_id for e in stored) == sorted(e.event_id for e in events)
        assert [e.seq for e in stored] == sorted(e.seq for e in stored)
        assert await one.after(stored[9].seq, 100) == stored[10:]
    finally:
        await engine.dispose()
        await drop_database(postgres_url, url)
