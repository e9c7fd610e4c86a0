"""Helpers for end-to-end tests against a real local cluster (processes, etcd, SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cluster.launcher import LocalCluster
from webrtc_client.client import AgentClient, CustomerClient

CARDS = "95589"  # credit-card flow: welcome, then a menu where "0" asks for an agent


@contextmanager
def running_cluster(base: Path, **kwargs: Any) -> Iterator[LocalCluster]:
    cluster = LocalCluster(base, base_port=0, **kwargs)
    cluster.start(timeout_s=120.0)  # a loaded 2-core CI machine starts 5 processes slowly
    try:
        yield cluster
    finally:
        cluster.stop()


def centrals(cluster: LocalCluster) -> list[str]:
    return [p.url for p in cluster.procs if p.role == "central" and p.alive]


def site_url(cluster: LocalCluster, name: str) -> str:
    return next(p.url for p in cluster.procs if p.name == name)


def proc(cluster: LocalCluster, name: str) -> Any:
    return next(p for p in cluster.procs if p.name == name)


async def agent_ready(cluster: LocalCluster, site: str, agent_id: str, tone_hz: float) -> AgentClient:
    agent = AgentClient(site_url(cluster, site), agent_id, "demo", central_urls=centrals(cluster), tone_hz=tone_hz)
    await agent.login()
    await agent.ready()
    return agent


async def wait_published(cluster: LocalCluster, site: str, skill: str, *, ready: int | None = None,
                         waiting: int | None = None, timeout_s: float = 10.0) -> None:
    """Until central's view of ``site`` shows the given load for ``skill``."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            async with http.get(centrals(cluster)[0] + "/v1/sites") as response:
                sites = {s["name"]: s for s in (await response.json())["sites"]}
            load = sites.get(site, {}).get("skills", {}).get(skill, {})
            if (ready is None or load.get("ready") == ready) and (waiting is None or load.get("waiting") == waiting):
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{site} never published {skill} ready={ready} waiting={waiting}")


async def call_to_queue(cluster: LocalCluster, caller: str, tone_hz: float | None = 440.0) -> CustomerClient:
    """Place a call to the card line and press 0 until it is queued or connected."""
    customer = CustomerClient(centrals(cluster), caller=caller, dialled=CARDS, tone_hz=tone_hz)
    await customer.call()
    assert customer.sig is not None
    await customer.press("0", how="datachannel")  # typed ahead: the menu takes it after the welcome
    await customer.sig.event("queued", "offered", "connected", timeout_s=60)
    return customer


async def final_cdr(cluster: LocalCluster, site: str, call_id: str, timeout_s: float = 15.0) -> dict[str, Any] | None:
    """The call's CDR at ``site`` once it has an end reason (the site writes it just after the end)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    row = cdr(cluster, site, call_id)
    while (row is None or row.get("end_reason") is None) and loop.time() < deadline:
        await asyncio.sleep(0.2)
        row = cdr(cluster, site, call_id)
    return row


async def identified_call_in_pin_check(
    cluster: LocalCluster, agent: AgentClient, caller: str
) -> tuple[CustomerClient, dict[str, Any]]:
    """A card customer who identified with their customer number, answered by ``agent``, who
    sends them to the PIN check (temporary IVR, C5c). Returns the caller and the ring event."""
    from webrtc_client.audio import hears, hears_sound

    _, number = a_customer(cluster)
    customer = CustomerClient(centrals(cluster), caller=caller, dialled=CARDS, tone_hz=440.0)
    await customer.call()
    assert customer.phone is not None and agent.phone is not None
    await customer.press("2", how="datachannel")  # bill enquiry: identify with the customer number
    await customer.press(number + "#", how="datachannel")  # typed ahead of the prompts
    ring = await agent.wait_ringing(40)
    await agent.answer(customer.call_id)
    assert await hears(agent.phone.receiver, 440.0)
    await agent.command({"type": "transfer", "target": "pin_verify", "target_kind": "ivr_return"})
    assert await hears_sound(customer.phone.receiver)
    return customer, ring


def a_customer(cluster: LocalCluster) -> tuple[str, str]:
    """The call's customer id of one demo customer and their customer number: the same, since a
    call's customer is its customer number at central's CRM (issue 17)."""
    with sqlite3.connect(cluster.base_dir / "data" / "business.db") as db:
        (number,) = db.execute("select customer_number from crm_customers order by id limit 1").fetchone()
    return str(number), str(number)


def add_agent(cluster: LocalCluster, site: str, agent_id: str, role: str, password: str = "demo") -> None:
    """A person the demo does not have (e.g. a compliance officer), as the bank would add them."""

    from site_node.storage.hashing import hash_password

    with sqlite3.connect(cluster.base_dir / "data" / f"{site}.db") as db:
        db.execute("INSERT INTO agents (id, name, site, team, role, password_hash, active) "
                   "VALUES (?, ?, ?, NULL, ?, ?, 1)", (agent_id, f"{role} {agent_id}", site, role,
                                                       hash_password(password)))


def cdr(cluster: LocalCluster, site: str, call_id: str) -> dict[str, Any] | None:
    with sqlite3.connect(cluster.base_dir / "data" / f"{site}.db") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("select * from calls where call_id = ?", (call_id,)).fetchone()
        return None if row is None else dict(row)
