"""Resource engine benchmark: ``python -m loadtests.bench_resources --json PATH [--quick]``.

A 20-field plan over 8 resources of the back-office simulator, dependency depth 3 (three levels
of calls, then derived fields), each call with 10 ms of simulated latency:

* ``plan_ms_p99``: planning alone (:func:`central.resources.planner.plan`);
* ``resolve_ms_p99`` / ``resolve_ms_p50``: one resolution while 200 run concurrently, the calls
  answered after 10 ms by the simulator's own data in-process (the engine's cost: its critical
  path is 3 x 10 ms; the sum of its calls would be 80 ms); target <= 50 ms;
* ``resolves_per_s``: resolutions completed per second in that run;
* ``http_resolve_ms_p99`` / ``http_resolves_per_s``: the same through real HTTP against the
  simulator process (``?latency_ms=10``), which also measures the single-process simulator.
Distinct customers and no cache, so every resolution makes its 8 calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from central.backoffice.data import BackOffice
from central.resources.client import AiohttpClient
from central.resources.executor import Executor, HttpClient
from central.resources.model import Catalog, build_catalog, document_from
from central.resources.planner import Plan, plan
from site_node.storage.seed import demo_bank

LATENCY_MS = 10
CONCURRENCY = 200


def _r(name: str, url: str, inputs: list[str], outputs: dict[str, str], types: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "url": "{backoffice}" + url + f"?latency_ms={LATENCY_MS}", "inputs": inputs,
            "outputs": {f: {"path": p, "type": types.get(f, "any")} for f, p in outputs.items()},
            "timeout_s": 5}  # fmt: skip


DOC: dict[str, Any] = {
    "catalog": "bench",
    "version": 1,
    "resources": [
        # level 0: from the customer number
        _r("customer", "/bank/customers/{customer_number}", ["customer_number"],
           {"c_account": "checking.account_id", "c_branch": "home_site", "c_echo": "customer_number",
            "c_name": "name", "c_balance": "checking.balance"}, {"c_balance": "number"}),
        _r("meter", "/gas/customers/{customer_number}/meter", ["customer_number"],
           {"m_id": "meter_id", "m_kwh": "last_reading.kwh"}, {"m_kwh": "number"}),
        _r("bill", "/gas/customers/{customer_number}/bill", ["customer_number"],
           {"b_amount": "amount", "b_arrears": "arrears"}, {"b_arrears": "number"}),
        # level 1: from level 0's answers
        _r("txns", "/bank/accounts/{c_account}/transactions", ["c_account"],
           {"t_account": "account_id", "t_list": "transactions"}, {"t_list": "list"}),
        _r("slots", "/bank/branches/{c_branch}/slots", ["c_branch"],
           {"s_branch": "branch", "s_next": "next_slot"}, {}),
        _r("meter2", "/gas/customers/{c_echo}/meter", ["c_echo"], {"m2_readings": "readings"}, {}),
        # level 2: from level 1's answers
        _r("txns2", "/bank/accounts/{t_account}/transactions", ["t_account"], {"t2_list": "transactions"}, {}),
        _r("slots2", "/bank/branches/{s_branch}/slots", ["s_branch"], {"s2_slots": "slots"}, {}),
    ],
    "derived": [
        {"name": "in_arrears", "expr": "b_arrears > 0"},
        {"name": "n_txns", "expr": "len(t2_list) + len(t_list)"},
        {"name": "n_slots", "expr": "len(s2_slots)"},
        {"name": "owed", "expr": "round(b_amount - c_balance, 2)"},
    ],
}  # fmt: skip
FIELDS = ["c_name", "c_balance", "m_id", "m_kwh", "b_amount", "b_arrears", "t_list", "s_next", "m2_readings",
          "t2_list", "s2_slots", "in_arrears", "n_txns", "n_slots", "c_account", "c_branch", "t_account",
          "s_branch", "c_echo", "owed"]  # fmt: skip


class LatencyTransport:
    """The executor's HTTP client answered in-process from the simulator's data after a delay."""

    def __init__(self, office: BackOffice, latency_s: float) -> None:
        self.office = office
        self.latency_s = latency_s

    async def send(self, method: str, url: str, body: dict[str, Any] | None, timeout_s: float) -> tuple[int, str]:
        await asyncio.sleep(self.latency_s)
        parts = urlsplit(url).path.strip("/").split("/")
        o = self.office
        match parts:
            case ["bank", "customers", number]:
                answer = o.summary(number)
            case ["bank", "accounts", account, "transactions"]:
                answer = o.transactions(account, 5)
            case ["bank", "branches", branch, "slots"]:
                answer = o.slots(branch, time.time())
            case ["gas", "customers", number, "meter"]:
                answer = o.meter(number)
            case ["gas", "customers", number, "bill"]:
                answer = o.bill(number)
            case _:
                return 404, "{}"
        return 200, json.dumps(answer)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 3)


async def run_load(catalog: Catalog, the_plan: Plan, client: HttpClient, customers: list[str],
                   rounds: int, concurrency: int = CONCURRENCY) -> tuple[list[float], float, int]:  # fmt: skip
    executor = Executor(catalog, client, {"backoffice": "http://127.0.0.1:1"})
    samples: list[float] = []
    failed = 0
    reasons: dict[str, int] = {}
    queue = [customers[i % len(customers)] for i in range(concurrency * rounds)]

    async def worker(mine: list[str]) -> None:
        nonlocal failed
        for number in mine:
            started = time.perf_counter()
            result = await executor.resolve(the_plan, {"customer_number": number}, deadline_s=10)
            samples.append((time.perf_counter() - started) * 1000)
            failed += bool(result.errors)
            for error in result.errors.values():
                reasons[error["error_id"]] = reasons.get(error["error_id"], 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(queue[i::concurrency]) for i in range(concurrency)))
    if reasons:
        print(f"errors by id: {reasons}", file=sys.stderr)
    return samples, time.perf_counter() - began, failed


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "central.backoffice", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("backoffice ready at "):
        process.kill()
        raise SystemExit(f"the simulator did not start: {line}")
    return process, line.split()[-1]


async def bench(quick: bool) -> dict[str, Any]:
    bank = demo_bank()
    gas = {c["customer_number"] for i, c in enumerate(bank.customers) if i % 3 == 0}
    customers = sorted(gas)
    office = BackOffice()
    catalog = build_catalog([(document_from(DOC), "bench.yaml")], {"backoffice": "http://unused"})
    the_plan = plan(catalog, FIELDS, {"customer_number"}, role="agent")
    calls = [sum(s.kind == "call" for s in level) for level in the_plan.levels]
    assert calls[:3] == [3, 3, 2] and the_plan.calls == 8 and len(the_plan.requested) == 20, (calls, the_plan)
    plan_samples = []
    for _ in range(300 if quick else 2000):
        started = time.perf_counter()
        plan(catalog, FIELDS, {"customer_number"}, role="agent")
        plan_samples.append((time.perf_counter() - started) * 1000)
    rounds = 3 if quick else 10
    transport = LatencyTransport(office, LATENCY_MS / 1000)
    cpu = time.process_time()
    samples, elapsed, failed = await run_load(catalog, the_plan, transport, customers, rounds)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(samples)
    light, _, _ = await run_load(catalog, the_plan, transport, customers, rounds * 10, concurrency=10)
    result: dict[str, Any] = {
        "fields": len(the_plan.requested), "resources": the_plan.calls, "depth": 3, "latency_ms": LATENCY_MS,
        "concurrency": CONCURRENCY, "resolutions": len(samples), "failed": failed,
        "plan_ms_p99": percentile(plan_samples, 0.99),
        "resolve_ms_p50": percentile(samples, 0.5), "resolve_ms_p99": percentile(samples, 0.99),
        "resolves_per_s": round(len(samples) / elapsed, 1), "target_resolve_ms_p99": 50,
        "resolve_cpu_ms": round(cpu_ms, 3), "resolve_ms_p99_at_10_concurrent": percentile(light, 0.99),
        "cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
    }  # fmt: skip
    process, url = start_simulator()
    http = AiohttpClient(connections=400)
    try:
        http_catalog = build_catalog([(document_from(DOC), "bench.yaml")], {"backoffice": url})
        executor_plan = plan(http_catalog, FIELDS, {"customer_number"}, role="agent")
        executor = Executor(http_catalog, http, {"backoffice": url})
        await executor.resolve(executor_plan, {"customer_number": customers[0]}, deadline_s=5)  # warm up
        samples, elapsed, failed = await run_load(http_catalog, executor_plan, _Bound(executor, http), customers, 1)
        result |= {"http_resolve_ms_p99": percentile(samples, 0.99), "http_resolves_per_s":
                   round(len(samples) / elapsed, 1), "http_failed": failed}  # fmt: skip
    finally:
        await http.stop()
        process.terminate()
        process.wait(timeout=10)
    return result


class _Bound:
    """The real aiohttp client, with the simulator's URL already in the catalog."""

    def __init__(self, executor: Executor, http: AiohttpClient) -> None:
        self.http = http
        self.base = executor.bases["backoffice"]

    async def send(self, method: str, url: str, body: dict[str, Any] | None, timeout_s: float) -> tuple[int, str]:
        return await self.http.send(method, url.replace("http://127.0.0.1:1", self.base, 1), body, timeout_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    import uvloop  # the project's event loop (every service runs on it)

    result = uvloop.run(bench(args.quick))
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
