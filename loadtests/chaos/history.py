"""What happened, read back from the system itself: every site's CDRs and the full etcd
history of the routing records and of the leader election."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.callrecords import CallRecord
from cluster.etcd import Etcd, EventType, KeyValue
from cluster.keys import Keyspace


@dataclass(frozen=True, slots=True)
class RecordEvent:
    revision: int
    call_id: str
    created: bool
    deleted: bool
    record: CallRecord | None


@dataclass(frozen=True, slots=True)
class DeathEvent:
    """Central confirmed a site dead by probe and ended its membership before its lease."""

    revision: int
    site: str
    confirmed_at: float  # wall clock of the confirming leader
    evidence: str


@dataclass(frozen=True, slots=True)
class ElectionEvent:
    revision: int
    key: str
    create_revision: int
    deleted: bool


def read_cdrs(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """``{call_id: [row at each site]}`` from every site database under ``data_dir``."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for db_path in sorted(data_dir.glob("*.db")):
        if db_path.stem == "business":  # central's business database (customers), not a site's
            continue
        with sqlite3.connect(db_path) as db:
            db.row_factory = sqlite3.Row
            first_offer = dict(db.execute(
                "select call_id, min(at) from call_events where type = 'offer_to_agent' group by call_id").fetchall())
            # when the call entered a queue at *this* site (a call moved here keeps its first
            # queue time in queued_at, from the site it came from)
            first_enqueue = dict(db.execute(
                "select call_id, min(at) from call_events where type = 'enqueue' group by call_id").fetchall())
            for row in db.execute("select * from calls"):
                entry = dict(row)
                entry["first_offered_at"] = first_offer.get(row["call_id"])
                entry["enqueued_here_at"] = first_enqueue.get(row["call_id"])
                rows.setdefault(row["call_id"], []).append(entry)
    return rows


async def _replay(etcd: Etcd, prefix: str, until: int) -> list[Any]:
    events: list[Any] = []
    if until <= 0:
        return events
    async with asyncio.timeout(60):
        async for event in etcd.watch_prefix(prefix, start_revision=1):
            events.append(event)
            if event.mod_revision >= until:
                break
    return events


async def read_history(
    endpoints: list[str], keys: Keyspace
) -> tuple[list[RecordEvent], list[ElectionEvent], list[DeathEvent]]:
    """Every change of every routing record, of the central election and every site death
    central confirmed, in revision order."""
    etcd = await Etcd.connect(endpoints)
    try:
        await etcd.put(keys.config("chaos-marker"), "end")
        _, head = await etcd.get_prefix(keys.config("chaos-marker"))
        everything = await _replay(etcd, keys.prefix + "/", head)
        calls = [e for e in everything if e.key.startswith(keys.calls)]
        election = [e for e in everything if e.key.startswith(keys.election("central"))]
        deaths = [e for e in everything if e.key.startswith(keys.deaths) and e.type is EventType.PUT]
    finally:
        await etcd.close()
    records = [
        RecordEvent(
            revision=e.mod_revision,
            call_id=Keyspace.leaf(e.key),
            created=e.type is EventType.PUT and e.create_revision == e.mod_revision,
            deleted=e.type is EventType.DELETE,
            record=None if e.type is EventType.DELETE else CallRecord.from_kv(
                KeyValue(e.key, e.value, e.create_revision, e.mod_revision, 0, 0)),
        )
        for e in calls
    ]
    leaders = [
        ElectionEvent(e.mod_revision, e.key, e.create_revision, e.type is EventType.DELETE) for e in election
    ]
    confirmed = []
    for e in deaths:
        info = json.loads(e.value)
        confirmed.append(DeathEvent(e.mod_revision, str(info.get("site", Keyspace.leaf(e.key))),
                                    float(info.get("confirmed_at", 0.0)), str(info.get("evidence", ""))))
    return records, leaders, confirmed


def read_outcomes(results_dir: Path) -> list[dict[str, Any]]:
    """The callers' own view (one JSON object per call, written by the Locust users)."""
    path = results_dir / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
