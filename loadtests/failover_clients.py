"""The clients of ``bench_failover`` in worker processes: each worker holds a share of the
customers and agents (as on separate machines), so the clients' own WebRTC work does not
become what is measured. A worker speaks with the bench over a pipe:

    bench -> worker  ("agents",)         log the agents in, make them ready -> ("ok",)
    bench -> worker  ("calls",)          place the calls, answer with the agents -> ("ok", calls)
    bench -> worker  ("signal", t)       the site was signalled at t (time.monotonic(), one clock
                                         for every process of the machine): measure -> ("ok", report)
    bench -> worker  ("close",)          close every client and exit -> ("ok",)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import uvloop

from loadtests.failover_probes import first_event_at, first_heard, last_position
from webrtc_client.client import AgentClient, CustomerClient

CALLER_HZ, AGENT_HZ = 440.0, 660.0
STEPS = ("lost", "located", "joined", "media")


@dataclass(frozen=True)
class WorkerSpec:
    north_url: str
    central_urls: list[str]
    agent_ids: list[str]
    callers: list[str]
    measure_s: float = 30.0


def _ms(at: float | None, since: float) -> float | None:
    return None if at is None else round((at - since) * 1000, 1)


async def _back(client: CustomerClient | AgentClient, hear_hz: float | None, deadline: float) -> tuple[
        float | None, float | None]:
    """(re-attached at, heard the peer's tone at), monotonic, None if not before ``deadline``."""
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            await client.reattached.wait()
    except TimeoutError:
        return None, None
    back = time.monotonic()
    if hear_hz is None or client.phone is None:
        return back, None
    return back, await first_heard(client.phone.receiver, hear_hz, timeout_s=max(0.0, deadline - back))


async def _settled_position(customer: CustomerClient, deadline: float) -> int | None:
    """The last queue position announced once it stopped changing for 2.5 s (or at the deadline)."""
    last, since = last_position(customer.sig), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = last_position(customer.sig)
        if now != last:
            last, since = now, time.monotonic()
        elif last is not None and time.monotonic() - since >= 2.5:
            break
    return last


class Worker:
    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.agents: list[AgentClient] = []
        self.customers: list[tuple[CustomerClient, float]] = []  # with its original arrival (central's)

    async def login_agents(self) -> None:
        for agent_id in self.spec.agent_ids:
            agent = AgentClient(self.spec.north_url, agent_id, "demo", central_urls=self.spec.central_urls,
                                tone_hz=AGENT_HZ)
            await agent.login()
            await agent.ready()
            self.agents.append(agent)

    async def place_calls(self) -> list[dict[str, Any]]:
        async def answer(agent: AgentClient) -> None:
            ring = await agent.wait_ringing(60)
            await agent.answer(ring["call_id"])

        answering = [asyncio.create_task(answer(a)) for a in self.agents]
        for caller in self.spec.callers:
            customer = CustomerClient(self.spec.central_urls, caller=caller, dialled="95589", tone_hz=CALLER_HZ)
            await customer.call()
            await customer.press("0", how="datachannel")
            self.customers.append((customer, float(customer.route["original_arrival_at"])))
        await asyncio.gather(*answering)
        return [{"call_id": c.call_id, "site": c.site, "arrival": at, "token": c.token} for c, at in self.customers]

    async def measure(self, signalled_at: float) -> dict[str, Any]:
        deadline = signalled_at + self.spec.measure_s
        customers = [c for c, _ in self.customers]
        talking = [first_event_at(c.sig, "connected") is not None for c in customers]
        results = await asyncio.gather(
            *(_back(c, AGENT_HZ if t else None, deadline) for c, t in zip(customers, talking, strict=True)),
            *(_back(a, CALLER_HZ, deadline) for a in self.agents),
        )
        positions = await asyncio.gather(*(
            _settled_position(c, min(deadline, time.monotonic() + 10))
            for c, t in zip(customers, talking, strict=True) if not t))
        position_of = iter(positions)
        report_customers = []
        for (customer, placed), is_talking, (back, heard) in zip(
                self.customers, talking, results[: len(customers)], strict=True):
            report_customers.append({
                "call_id": customer.call_id, "arrival": placed, "talking": is_talking,
                "reconnect_ms": round(customer.reconnects[0] * 1000, 1) if customer.reconnects else None,
                "back_ms": _ms(back, signalled_at), "heard_ms": _ms(heard, signalled_at),
                "queued_ms": _ms(first_event_at(customer.sig, "queued"), signalled_at),
                "position": None if is_talking else next(position_of),
                "steps": {k: _ms(customer.reattach_steps.get(k), signalled_at) for k in STEPS},
            })
        report_agents = []
        for agent, (back, heard) in zip(self.agents, results[len(customers):], strict=True):
            calls = [e.get("data", {}).get("call_id") for e in (agent.sig.received if agent.sig else [])
                     if e.get("type") == "event" and e.get("event") == "connected"]
            report_agents.append({
                "agent_id": agent.agent_id, "call_id": calls[-1] if calls else None,
                "back_ms": _ms(back, signalled_at), "heard_ms": _ms(heard, signalled_at),
                "steps": {k: _ms(agent.reattach_steps.get(k), signalled_at) for k in STEPS},
            })
        return {"customers": report_customers, "agents": report_agents}

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in [*(c for c, _ in self.customers), *self.agents]),
                             return_exceptions=True)


async def _serve(conn: Connection, spec: WorkerSpec) -> None:
    worker = Worker(spec)
    loop = asyncio.get_running_loop()
    try:
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            match message:
                case ("agents",):
                    await worker.login_agents()
                    conn.send(("ok",))
                case ("calls",):
                    conn.send(("ok", await worker.place_calls()))
                case ("signal", float(at)):
                    conn.send(("ok", await worker.measure(at)))
                case ("close",):
                    break
    except Exception as exc:  # the bench reports it and stops
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        await worker.close()
        with contextlib.suppress(OSError):
            conn.send(("ok",))


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    uvloop.run(_serve(conn, spec))
