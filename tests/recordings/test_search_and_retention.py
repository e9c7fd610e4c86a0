"""Recordings are found by their CDR's fields and kept per queue unless on legal hold (real
SQLite and PostgreSQL; the retention rule and the filters as pure functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cluster.clock import ManualClock
from cluster.errors import ConfigError
from site_node.recordings.errors import BadRecordingFilter
from site_node.recordings.retention import DAY_S, RetentionPolicy, RetentionSweep, expired
from site_node.recordings.search import parse_filter
from site_node.storage import RecordingMeta, Storage
from site_node.storage.records import CallDetailRecord

T0 = 1_700_000_000.0


async def _recorded(storage: Storage, tmp: Path, call_id: str, *, queue: str, agent: str, started: float,
                    duration: float, outcome: str = "answered", customer: str | None = None) -> int:  # fmt: skip
    await storage.calls.upsert_call(CallDetailRecord(call_id=call_id, site="s1", queue=queue, agent_id=agent,
                                                     customer_id=customer, arrival_at=started - 5,
                                                     end_reason=outcome))  # fmt: skip
    path = tmp / f"{call_id}.sealed"
    path.write_bytes(b"sealed")
    rec = await storage.recordings.add_recording(RecordingMeta(call_id=call_id, path=str(path), started_at=started))
    await storage.recordings.finish_recording(rec, ended_at=started + duration, duration_s=duration)
    return rec


async def test_recordings_are_found_by_the_fields_of_their_call(storage: Storage, tmp_path: Path) -> None:
    await _recorded(storage, tmp_path, "c1", queue="sales", agent="a1", started=T0, duration=30, customer="k1")
    await _recorded(storage, tmp_path, "c2", queue="sales", agent="a2", started=T0 + 10, duration=300)
    await _recorded(storage, tmp_path, "c3", queue="support", agent="a1", started=T0 + 20, duration=90,
                    outcome="failed_over")  # fmt: skip
    unfinished = RecordingMeta(call_id="c4", path="x", started_at=T0 + 30)
    await storage.recordings.add_recording(unfinished)

    async def calls(**query: str) -> list[str]:
        found = parse_filter(query)
        rows = await storage.recordings.search(found.start, found.end, **found.storage_args())
        assert all(cdr is not None and cdr.call_id == meta.call_id for meta, cdr in rows)
        return [meta.call_id for meta, _ in rows]

    assert await calls() == ["c1", "c2", "c3"]
    assert await calls(queue="sales") == ["c1", "c2"]
    assert await calls(agent="a1") == ["c1", "c3"]
    assert await calls(customer="k1") == ["c1"]
    assert await calls(outcome="failed_over") == ["c3"]
    assert await calls(min_duration_s="60", max_duration_s="120") == ["c3"]
    assert await calls(**{"from": repr(T0 + 5), "to": repr(T0 + 15)}) == ["c2"]
    assert await calls(limit="1") == ["c1"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"from": "yesterday"}, "from"), ({"limit": "0"}, "limit"), ({"min_duration_s": "-1"}, "min_duration_s"),
     ({"from": "10", "to": "5"}, "to"), ({"min_duration_s": "9", "max_duration_s": "3"}, "max_duration_s"),
     ({"pin": "1234"}, "pin"), ({"queue": "q" * 65}, "queue")],
)  # fmt: skip
def test_a_bad_filter_is_refused_naming_it(query: dict[str, str], field: str) -> None:
    with pytest.raises(BadRecordingFilter) as error:
        parse_filter(query)
    assert (error.value.error_id, error.value.status, error.value.details["field"]) == (
        "recordings.bad_filter", 400, field)  # fmt: skip


def test_the_retention_rule_is_per_queue_and_a_hold_wins() -> None:
    policy = RetentionPolicy(default_days=30, per_queue={"complaints": 3650})
    day = DAY_S
    assert not expired(policy, queue="sales", started_at=0, legal_hold=False, now=29 * day)
    assert expired(policy, queue="sales", started_at=0, legal_hold=False, now=30 * day)
    assert expired(policy, queue=None, started_at=0, legal_hold=False, now=31 * day)
    assert not expired(policy, queue="complaints", started_at=0, legal_hold=False, now=31 * day)
    assert not expired(policy, queue="sales", started_at=0, legal_hold=True, now=10_000 * day)
    with pytest.raises(ConfigError) as error:
        RetentionPolicy(per_queue={"sales": 0})
    assert error.value.details == {"queue": "sales"}


async def test_the_sweep_deletes_what_is_past_retention_and_not_held(storage: Storage, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    old = await _recorded(storage, tmp_path, "old", queue="sales", agent="a1", started=T0, duration=10)
    held = await _recorded(storage, tmp_path, "held", queue="sales", agent="a1", started=T0, duration=10)
    kept = await _recorded(storage, tmp_path, "kept", queue="complaints", agent="a1", started=T0, duration=10)
    await storage.recordings.set_legal_hold(held, True)
    audited: list[tuple[str, str, dict[str, Any]]] = []

    async def audit(action: str, target: str, details: dict[str, Any]) -> None:
        audited.append((action, target, details))

    sweep = RetentionSweep(lambda: storage.recordings, RetentionPolicy(30, {"complaints": 365}), clock, audit,
                           interval_s=3600, scheduler=clock)  # fmt: skip
    sweep.start()
    clock.advance(3600)
    await sweep.drain()
    assert audited == []  # nothing is 30 days old yet

    clock.advance(30 * DAY_S)
    await sweep.drain()
    left = {m.call_id for m, _ in await storage.recordings.search(0, 1e12)}
    assert left == {"held", "kept"}
    assert not (tmp_path / "old.sealed").exists() and (tmp_path / "held.sealed").exists()
    assert audited == [("recording_deleted", str(old), {"call_id": "old", "queue": "sales", "reason": "retention",
                                                        "retention_days": 30})]  # fmt: skip

    await storage.recordings.set_legal_hold(held, False)  # lifted: the next round takes it
    clock.advance(3600)
    await sweep.drain()
    assert {m.call_id for m, _ in await storage.recordings.search(0, 1e12)} == {"kept"}
    await sweep.stop()
    assert clock.pending() == 0 and kept
