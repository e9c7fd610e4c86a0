"""SOP submit latency through the real service and store (SQLAlchemy, a SQLite file by default).

    python -m loadtests.bench_sop --json PATH [--quick] [--instances N] [--tasks T] [--concurrency C]
                                  [--database-url postgresql+asyncpg://...]

A ``T``-task SOP (10 by default) is published; ``N`` instances (1,000) are started and all stay
running at once while ``C`` workers submit their tasks round by round (every instance's task 1,
then every instance's task 2, ...), so each submit reads an instance among N live ones, steps the
pure engine, and writes the new state and its history row over the revision read: what
``POST /v1/sop/instances/{id}/submit`` does without the HTTP hop, on a business database
migrated by its own Alembic scripts. Reports ``submit_ms_p99`` (and p50), ``start_ms_p99`` and
``instances_per_s`` (instances started and run to their end, per second of the whole run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import uvloop

from central.business.db import BusinessDb, migrate
from central.sop.service import SopService
from central.sop.store import SopStore


def chain(tasks: int, key: str = "chain") -> dict[str, Any]:
    """start -> t1 -> ... -> tN -> end, each task a form of a text and a bounded integer."""
    elements: list[dict[str, Any]] = [{"id": "start", "type": "start", "next": "t1"}]
    for i in range(1, tasks + 1):
        elements.append({"id": f"t{i}", "type": "user_task",
                         "form": {"fields": [{"name": f"answer_{i}", "type": "text"},
                                             {"name": f"score_{i}", "type": "integer", "min": 0, "max": 10}]},
                         "next": f"t{i + 1}" if i < tasks else "end"})  # fmt: skip
    elements.append({"id": "end", "type": "end", "outcome": "done"})
    return {"key": key, "title": f"{tasks} tasks", "elements": elements}


class NoResources:
    """The chain has no service task: nothing is resolved."""

    async def resolve(self, fields: list[str], inputs: Mapping[str, Any],
                      role: str | None) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
        raise AssertionError("the benchmark's SOP has no service task")


def _ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(seconds) * 1000, q)), 2)


async def measure(service: SopService, instances: int, tasks: int, concurrency: int) -> dict[str, Any]:
    await service.publish("bench", chain(tasks))
    began = time.perf_counter()
    starts: list[float] = []
    submits: list[float] = []
    ids: list[int] = []
    numbers = iter(range(instances))

    async def starter() -> None:
        for n in numbers:
            t = time.perf_counter()
            view = await service.start("bench", "agent", "chain", {"customer": f"C{n:06d}"}, f"call-{n}")
            starts.append(time.perf_counter() - t)
            ids.append(view["id"])

    await asyncio.gather(*(starter() for _ in range(concurrency)))
    for task in range(1, tasks + 1):
        todo = iter(ids)

        async def submitter(task: int = task, todo: Any = todo) -> None:
            for instance_id in todo:
                t = time.perf_counter()
                await service.submit(instance_id, "bench", "agent", f"t{task}", "agent",
                                     {f"answer_{task}": "customer confirmed", f"score_{task}": task % 10})  # fmt: skip
                submits.append(time.perf_counter() - t)

        await asyncio.gather(*(submitter() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    done = [(await service.view(i))["status"] for i in ids[:50]].count("completed")
    return {
        "submit_ms_p99": _ms(submits, 99),
        "submit_ms_p50": _ms(submits, 50),
        "start_ms_p99": _ms(starts, 99),
        "instances_per_s": round(instances / elapsed, 1),
        "submits_per_s": round(len(submits) / elapsed, 1),
        "instances": instances,
        "tasks": tasks,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "completed_checked": f"{done}/{min(50, len(ids))}",
    }


async def run(url: str, instances: int, tasks: int, concurrency: int) -> dict[str, Any]:
    await migrate(url)  # the business database's schema, as central migrates it
    db = BusinessDb(url)
    try:
        result = await measure(SopService(SopStore(db.sessions, db.reads), NoResources()), instances, tasks,
                               concurrency)  # fmt: skip
    finally:
        await db.close()
    return {**result, "database": url.split(":", 1)[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", dest="json_path", required=True)
    parser.add_argument("--quick", action="store_true", help="100 instances instead of 1000")
    parser.add_argument("--instances", type=int, default=None)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    instances = args.instances or (100 if args.quick else 1000)
    with tempfile.TemporaryDirectory(prefix="bench-sop-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'business.db'}"
        result = uvloop.run(run(url, instances, args.tasks, args.concurrency))
    print(json.dumps(result))
    Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
