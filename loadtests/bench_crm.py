"""CRM benchmark: ``python -m loadtests.bench_crm --json PATH [--quick] [--customers N] [--database-url URL]``.

A real central's customers API (:class:`central.crm.api.CrmApi` on an aiohttp server on
loopback) over a SQLite file (or PostgreSQL by URL), N customers imported from generated CSV
rows through the importer the API uses (``import_s``), then:

* ``lookup_ms_p99``: 200 concurrent look-ups by caller number through the site's client path
  (:class:`site_node.crm.CentralCrm`; distinct numbers, so cache misses), several rounds;
  ``lookup_ms_p99_one_at_a_time``: the same path with one look-up in flight (no queueing);
* ``search_ms_p99``: partial name searches through the HTTP API;
* ``workorder_create_per_s``: work orders created on the same database by
  :func:`loadtests.bench_workorders.measure`, each for an imported customer (checked, and the
  order written to their contact history, as central does).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from central.business.config import BusinessConfig
from central.crm.api import CrmApi
from central.crm.hooks import CrmLinks
from central.crm.importer import csv_rows, import_rows
from central.workorders.attachments import AttachmentFiles
from central.workorders.service import WorkOrders
from central.workorders.store import WorkOrderStore
from cluster.clock import SYSTEM_CLOCK
from cluster.http import make_app
from cluster.tokens import TokenSigner
from loadtests.bench_workorders import measure
from site_node.crm import CentralCrm

SECRET = "b" * 48
FIRST = ("Anna", "Ben", "Clara", "David", "Elena", "Jürgen", "Zoë", "王小明", "李娜", "Omar", "Søren", "Agnès")
LAST = ("Schmidt", "Novak", "Müller", "Weber", "Rossi", "Kaya", "张", "Silva", "Łukasz", "Dubois")
SEARCHES = ("mull", "jurgen", "zoe web", "小明", "rossi", "elena k", "agnes", "soren", "novak 12", "dubo")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 3)


def generated_csv(n: int) -> Iterator[str]:
    """N customer rows (the header first), deterministic."""
    rng = random.Random(7)
    yield "customer_number,name,segment,phones,may_sms\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for i in range(n):
        segment = "vip" if i % 13 == 0 else "business" if i % 7 == 0 else "retail"
        writer.writerow([f"B{i:08d}", f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}", segment, f"+4915{i:09d}",
                         "yes" if i % 3 else "no"])  # fmt: skip
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


async def run(n: int, url: str | None, rounds: int = 6) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-crm-"))
    db_url = url or f"sqlite+aiosqlite:///{tmp / 'business.db'}"
    signer = TokenSigner(SECRET, ttl_s=3600)
    api = CrmApi(BusinessConfig(database_url=db_url), signer, replica="bench", max_body_bytes=1 << 20)
    app = make_app(lambda: {"ok": True})
    api.install(app)
    await api.start()
    assert api.service is not None and api.db is not None
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"database": api.db.dialect, "customers": n}
    try:
        started = time.perf_counter()
        report = await import_rows(api.service.store, SYSTEM_CLOCK, csv_rows(generated_csv(n)))
        result["import_s"] = round(time.perf_counter() - started, 2)
        result["imported"] = report.created + report.updated
        result["import_rows_per_s"] = round(n / result["import_s"])

        async def urls() -> list[str]:
            return [base]

        crm = CentralCrm(urls, signer, SYSTEM_CLOCK, site="bench", timeout_s=10.0)
        rng = random.Random(11)
        lookups: list[float] = []

        async def one(number: str) -> None:
            t = time.perf_counter()
            found = await crm.lookup("phone", number)
            lookups.append((time.perf_counter() - t) * 1000)
            assert found, number

        for _round in range(rounds):
            await asyncio.gather(*(one(f"+4915{rng.randrange(n):09d}") for _ in range(200)))
        steady = lookups[200:]  # the first round opens the connection pool
        result["lookup_ms_p99"] = percentile(steady, 0.99)
        result["lookup_ms_p50"] = percentile(steady, 0.50)
        result["lookup_concurrency"] = 200
        alone: list[float] = []  # one look-up at a time: the statement's and the HTTP path's own cost
        for _ in range(200):
            t = time.perf_counter()
            assert await crm.lookup("phone", f"+4915{rng.randrange(n):09d}")
            alone.append((time.perf_counter() - t) * 1000)
        result["lookup_ms_p99_one_at_a_time"] = percentile(alone, 0.99)
        result["lookup_ms_p50_one_at_a_time"] = percentile(alone, 0.50)
        await crm.close()
        agent = {"Authorization": "Bearer " + signer.issue("agent", "bench-01", role="agent")}
        searches: list[float] = []
        async with aiohttp.ClientSession() as http:
            for i in range(200):
                t = time.perf_counter()
                query = SEARCHES[i % len(SEARCHES)]
                async with http.get(base + "/v1/customers", params={"name": query, "limit": "20"}, headers=agent) as r:
                    assert r.status == 200, await r.text()
                    await r.read()
                searches.append((time.perf_counter() - t) * 1000)
        result["search_ms_p99"] = percentile(searches, 0.99)
        result["search_ms_p50"] = percentile(searches, 0.50)
        links = CrmLinks(api.service.store)
        orders = WorkOrders(WorkOrderStore(api.db.engine), SYSTEM_CLOCK, AttachmentFiles(tmp / "attachments"),
                            history=links, customers=links)  # fmt: skip
        made = await measure(orders, min(5000, max(500, n // 40)), 8, lambda i: f"B{i * 7919 % n:08d}")
        result["workorder_create_per_s"] = made["workorder_create_per_s"]
        result["workorder_create_ms_p99"] = made["create_ms_p99"]
        result["workorders"] = made["orders"]
    finally:
        await runner.cleanup()
        await api.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="20,000 customers instead of 1,000,000")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n = args.customers or (20_000 if args.quick else 1_000_000)
    result = asyncio.run(run(n, args.database_url))
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
