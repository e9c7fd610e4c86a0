"""CRM benchmark: ``python -m loadtests.bench_crm --json PATH [--quick] [--database-url URL]``.

A real central (business routes only: :class:`~central.business.services.BusinessServices` on
an aiohttp server on loopback) over a SQLite file (or PostgreSQL by URL), N customers imported
from a generated CSV (``import_s``), then:

* ``lookup_ms_p99``: 200 concurrent look-ups by caller number through the site's client path
  (:class:`site_node.crm.CentralCrm`, distinct numbers: cache misses), several rounds;
* ``search_ms_p99``: name searches (partial, through the HTTP API);
* ``workorder_create_per_s``: work orders created through the HTTP API, 20 concurrent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from central.business.config import BusinessConfig
from central.business.db import BusinessDb
from central.business.services import BusinessServices
from central.crm.importer import import_csv
from site_node.crm import CentralCrm

from cluster.clock import SYSTEM_CLOCK
from cluster.http import make_app
from cluster.tokens import TokenSigner

SECRET = "b" * 48
NAMES = ("Anna", "Ben", "Clara", "David", "Elena", "Jürgen", "Zoë", "王小明", "李娜", "Omar")
LAST = ("Schmidt", "Novak", "Müller", "Weber", "Rossi", "Kaya", "张", "Silva")


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3)


def csv_lines(n: int) -> Any:
    yield "customer_number,name,segment,phones\n"
    rng = random.Random(7)
    for i in range(n):
        segment = "vip" if i % 13 == 0 else "retail"
        yield f"B{i:08d},{rng.choice(NAMES)} {rng.choice(LAST)} {i},{segment},+4915{i:09d}\n"


async def run(n: int, url: str | None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-crm-"))
    db_url = url or f"sqlite+aiosqlite:///{tmp / 'business.db'}"
    config = BusinessConfig(database_url=db_url, account_hash_key="k" * 32, sla_check_interval_s=3600,
                            notify_interval_s=3600)
    signer = TokenSigner(SECRET, ttl_s=3600)
    services = BusinessServices(config, signer, replica="bench", max_body_bytes=1 << 20)
    app = make_app(lambda: {"ok": True})
    services.install(app)
    await services.start()
    assert services.db is not None
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"database": BusinessDb(db_url).dialect, "customers": n}
    try:
        started = time.perf_counter()
        report = await import_csv(services.db, SYSTEM_CLOCK, csv_lines(n))
        result["import_s"] = round(time.perf_counter() - started, 2)
        result["imported"] = report.imported

        async def urls() -> list[str]:
            return [base]

        crm = CentralCrm(urls, signer, SYSTEM_CLOCK, site="bench", timeout_s=5.0)
        rng = random.Random(11)
        lookups: list[float] = []

        async def one(number: str) -> None:
            t = time.perf_counter()
            found = await crm.lookup("caller_number", number)
            lookups.append((time.perf_counter() - t) * 1000)
            assert found, number

        for _round in range(5):
            await asyncio.gather(*(one(f"+4915{rng.randrange(n):09d}") for _ in range(200)))
        result["lookup_ms_p99"] = p99(lookups[200:])  # the first round warms the connection pool
        result["lookup_ms_p50"] = round(sorted(lookups)[len(lookups) // 2], 3)
        await crm.close()
        agent = {"Authorization": "Bearer " + signer.issue("agent", "bench-01", role="team_leader")}
        searches: list[float] = []
        async with aiohttp.ClientSession() as http:
            for i in range(100):
                t = time.perf_counter()
                async with http.get(base + f"/v1/customers?name={NAMES[i % len(NAMES)][:3]}%20{i % 97}&limit=20",
                                    headers=agent) as response:
                    assert response.status == 200
                    await response.read()
                searches.append((time.perf_counter() - t) * 1000)
            result["search_ms_p99"] = p99(searches)
            count = 400 if n < 200_000 else 1000
            sem = asyncio.Semaphore(20)

            async def create(i: int) -> None:
                async with sem, http.post(base + "/v1/workorders", headers=agent, json={
                        "type": "inquiry", "department_id": "complaints", "subject": f"bench {i}"}) as response:
                    assert response.status == 201, await response.text()

            await asyncio.gather(*[_seed_departments(services)])
            t = time.perf_counter()
            await asyncio.gather(*(create(i) for i in range(count)))
            result["workorder_create_per_s"] = round(count / (time.perf_counter() - t), 1)
    finally:
        await runner.cleanup()
        await services.stop()
    return result


async def _seed_departments(services: BusinessServices) -> None:
    from central.business.models import Department, SlaPolicy
    from central.business.seed import DEPARTMENTS, sla_rows

    from site_node.storage._base import insert_ignore, table_of

    assert services.db is not None
    async with services.db.writes.begin() as session:
        await session.execute(insert_ignore(session, table_of(Department), ["id"]),
                              [{k: d[k] for k in ("id", "name", "escalate_to")} for d in DEPARTMENTS])
        await session.execute(insert_ignore(session, table_of(SlaPolicy), ["type", "priority"]), sla_rows())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="100,000 customers instead of 1,000,000")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n = args.customers or (100_000 if args.quick else 1_000_000)
    result = asyncio.run(run(n, args.database_url))
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
