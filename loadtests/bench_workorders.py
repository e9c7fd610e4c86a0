"""Work-order creation throughput through the real store (SQLAlchemy, a SQLite file by default).

    python -m loadtests.bench_workorders --json PATH [--quick] [--orders N] [--concurrency C]
                                         [--database-url postgresql+asyncpg://...]

Each order is validated, gets its SLA deadlines (business hours), and is written with its call
link and first status-history row in one transaction: what ``POST /v1/workorders`` does
without the HTTP hop, on a business database migrated by its own Alembic scripts. Reports
``workorder_create_per_s`` and the per-create latency percentiles; :func:`measure` is what
``bench_crm`` reuses on its database (there each create also checks the customer and writes
their contact history, as at central).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import uvloop

from central.business.db import migrate
from central.workorders.attachments import AttachmentFiles
from central.workorders.service import NewOrder, WorkOrders
from central.workorders.store import WorkOrderStore
from cluster.clock import SYSTEM_CLOCK
from site_node.storage.engine import create_engine

TYPES = ("complaint", "suggestion", "inquiry", "repair", "emergency")
PRIORITIES = ("low", "normal", "high", "urgent")


async def measure(
    service: WorkOrders, orders: int, concurrency: int, customer: Callable[[int], str | None]
) -> dict[str, Any]:
    """Create ``orders`` work orders from ``concurrency`` workers; rate and latency percentiles."""
    if await service.store.department("bench") is None:
        await service.create_department("bench", "Benchmark back office", [f"crew-{i}" for i in range(10)])
    latencies: list[float] = []
    counter = iter(range(orders))

    async def worker() -> None:
        for n in counter:
            started = time.perf_counter()
            await service.create(
                NewOrder(
                    type=TYPES[n % len(TYPES)],
                    priority=PRIORITIES[n % len(PRIORITIES)],
                    department="bench",
                    subject=f"benchmark order {n}",
                    created_by="bench",
                    customer_number=customer(n),
                    call_ids=(f"call-{n}",),
                )
            )
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    stored = len(await service.store.orders({"department": "bench"}, limit=1))
    ms = np.array(latencies) * 1000
    return {
        "workorder_create_per_s": round(orders / elapsed, 1),
        "orders": orders,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "create_ms_p50": round(float(np.percentile(ms, 50)), 2),
        "create_ms_p99": round(float(np.percentile(ms, 99)), 2),
        "stored": stored > 0,
    }


async def run(url: str, orders: int, concurrency: int, workdir: Path) -> dict[str, Any]:
    await migrate(url)  # the business database's schema, as central migrates it
    engine = create_engine(url)
    try:
        service = WorkOrders(WorkOrderStore(engine), SYSTEM_CLOCK, AttachmentFiles(workdir / "attachments"))
        result = await measure(service, orders, concurrency, lambda n: f"C{n % 100_000:06d}")
    finally:
        await engine.dispose()
    return {**result, "database": url.split(":", 1)[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", dest="json_path", required=True)
    parser.add_argument("--quick", action="store_true", help="500 orders instead of 5000")
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    orders = args.orders or (500 if args.quick else 5000)
    with tempfile.TemporaryDirectory(prefix="bench-wo-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'business.db'}"
        result = uvloop.run(run(url, orders, args.concurrency, Path(tmp)))
    print(json.dumps(result))
    Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
