"""The agent report's not-ready time by reason and session occupancy, and the IVR report's node
exits, from a real site database (migrated by the site's storage, written through it)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from central.stats.export import AGENT_COLUMNS, write_exports
from central.stats.job import run_local
from central.stats.sources import DatabaseSource
from cluster import ivr_path
from site_node.storage import AgentSessionRecord, CallDetailRecord, Storage

T0 = 1_728_000_000.0  # 2024-10-04 00:00 UTC


def _path(*nodes: str, end: str | None) -> str:
    path: str | None = None
    for node in nodes:
        path = ivr_path.with_exit(path, "main", node)
    return ivr_path.with_end(path, end) if end else str(path)


CALLS: list[dict[str, Any]] = [
    # served at the IVR's end node ("hangup"): self-service
    dict(call_id="c1", ivr_path=_path("menu", "balance", "bye", end="hangup"), end_reason="abandoned_in_ivr"),
    # to the queue, answered by a1
    dict(call_id="c2", ivr_path=_path("menu", end="queue"), end_reason="answered_completed", queue="retail",
         agent_id="a1", queued_at=T0 + 110, offered_at=T0 + 115, answered_at=T0 + 120, wrap_up_end_at=T0 + 320),
    # the caller hung up in the menu: not self-served
    dict(call_id="c3", ivr_path=_path("menu", end=None), end_reason="abandoned_in_ivr"),
]  # fmt: skip
SESSIONS = [
    ("a1", "not_ready", "login", 0, 60),
    ("a1", "ready", None, 60, 115),
    ("a1", "reserved", None, 115, 120),
    ("a1", "on_call", None, 120, 300),
    ("a1", "after_call_work", None, 300, 320),
    ("a1", "not_ready", "lunch", 320, 920),
    ("a2", "not_ready", "break", 0, 100),
    ("a2", "ready", None, 100, 200),
]


async def _site_db(path: Path) -> str:
    storage = await Storage.open(f"sqlite+aiosqlite:///{path}")
    try:
        for i, call in enumerate(CALLS):
            arrival = T0 + 100 + i
            fields = {"site": "north", "flow_id": "main", "arrival_at": arrival, "original_arrival_at": arrival,
                      "ivr_start_at": arrival, "ivr_end_at": arrival + 9, "ended_at": T0 + 300, **call}  # fmt: skip
            await storage.calls.upsert_call(CallDetailRecord(**fields))
        await storage.agent_sessions.append(
            [AgentSessionRecord("north", a, s, T0 + b, T0 + e, r) for a, s, r, b, e in SESSIONS]
        )
    finally:
        await storage.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    base = tmp_path_factory.mktemp("site")
    url = asyncio.run(_site_db(base / "north.db"))
    result = run_local({"north": DatabaseSource(url)})
    out = base / "out"
    write_exports(out, result, ("csv", "xlsx"), {"north": url})
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    assert {"agent_not_ready", "ivr_nodes"} <= set(book.sheetnames)
    return {name: pd.read_csv(out / f"{name}.csv") for name in ("agent", "agent_not_ready", "ivr", "ivr_nodes")}


def test_not_ready_seconds_per_agent_and_reason(exported: dict[str, pd.DataFrame]) -> None:
    nr = exported["agent_not_ready"]
    got = {(r.agent_id, r.reason): r.not_ready_s for r in nr.itertuples()}
    assert got == {("a1", "login"): 60.0, ("a1", "lunch"): 600.0, ("a2", "break"): 100.0}


def test_occupancy_comes_from_logged_in_time_less_not_ready(exported: dict[str, pd.DataFrame]) -> None:
    agents = exported["agent"].set_index("agent_id")
    assert list(exported["agent"].columns) == AGENT_COLUMNS
    a1 = agents.loc["a1"]
    assert (a1["handled"], a1["logged_in_s"], a1["not_ready_s"]) == (1, 920.0, 660.0)
    assert a1["occupancy"] == pytest.approx((5 + 180 + 20) / (920 - 660))
    assert a1["occupancy_from"] == "sessions"
    a2 = agents.loc["a2"]  # logged in, took no call: still in the report
    assert (a2["handled"], a2["logged_in_s"], a2["not_ready_s"], a2["occupancy"]) == (0, 200.0, 100.0, 0.0)


def test_ivr_node_exits_and_self_service_only_at_an_end_node(exported: dict[str, pd.DataFrame]) -> None:
    nodes = {(r.node_id): (r.exits, r.ended_here) for r in exported["ivr_nodes"].itertuples()}
    assert nodes == {"menu": (3, 2), "balance": (1, 0), "bye": (1, 1)}
    ivr = exported["ivr"].iloc[0]
    assert (ivr["entered"], ivr["to_queue"], ivr["self_served"]) == (3, 1, 1)
    assert ivr["self_service_rate"] == pytest.approx(1 / 3)
