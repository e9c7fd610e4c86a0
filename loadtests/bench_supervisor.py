"""Supervisor console benchmark: ``python -m loadtests.bench_supervisor --json PATH [--quick]``.

A real local cluster (etcd, one central, three sites as processes). Agents join each site's
signalling socket (tokens from the cluster's secret, like the demo's operator tools; no media,
so they cannot be ready: each change is not ready with a new reason, which the console shows
like any state change) on a schedule; a manager
at every site reads ``GET /v1/supervisor/stream`` (server-sent events), as the console does.

* ``console_update_ms_p99`` (and p50, max): from an agent's state command being sent to the
  first stream event at its site that shows the new state (what the console renders at once);
* ``config_apply_ms_p99``: ``null``: administration (publishing configuration) is not built
  on this branch.

Full size is the issue's: 300 agents across 3 sites, each changing state 10 times a minute, for
60 s; ``--quick``: 60 agents for 20 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from cluster.launcher import LocalCluster
from cluster.tokens import TokenSigner

SKILLS = {"credit_card": 5, "retail": 5}
REASONS = ("break", "lunch", "meeting", "training", "coaching")


def percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)


@dataclass
class Tracker:
    """Pure: changes sent (agent -> wanted state and reason, when) matched with stream views."""

    pending: dict[str, tuple[str, str | None, float]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    superseded: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def refused(self, agent_id: str, error_id: str) -> None:
        """A change the site refused is not waited for."""
        self.errors[error_id] = self.errors.get(error_id, 0) + 1
        self.pending.pop(agent_id, None)

    def sent(self, agent_id: str, state: str, reason: str | None, at: float) -> None:
        if agent_id in self.pending:
            self.superseded += 1  # the previous change was never seen on its own
        self.pending[agent_id] = (state, reason, at)

    def seen(self, view: dict[str, Any], at: float) -> None:
        for row in view.get("agents", []):
            wanted = self.pending.get(row["agent_id"])
            if wanted is None:
                continue
            state, reason, sent_at = wanted
            if row["state"] == state and (reason is None or row["reason"] == reason):
                self.latencies_ms.append((at - sent_at) * 1000)
                del self.pending[row["agent_id"]]


async def _agent(
    http: aiohttp.ClientSession,
    ws_url: str,
    token: str,
    agent_id: str,
    tracker: Tracker,
    *,
    period_s: float,
    until: float,
) -> int:
    changes = 0
    async with http.ws_connect(ws_url) as ws:
        await ws.send_json({"type": "join", "token": token, "id": "j"})
        while (await ws.receive_json(timeout=30))["type"] != "joined":
            pass

        async def drain() -> None:
            async for msg in ws:
                data = json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else {}
                if data.get("type") == "error":
                    tracker.refused(agent_id, str(data.get("error_id")))

        reader = asyncio.create_task(drain(), name=f"drain-{agent_id}")
        try:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(random.uniform(0, period_s))
            while loop.time() < until:
                reason = f"{REASONS[changes % len(REASONS)]}-{changes}"  # each change shows as a new reason
                tracker.sent(agent_id, "not_ready", reason, time.monotonic())
                await ws.send_json({"type": "agent_state", "state": "not_ready", "reason": reason, "id": f"c{changes}"})
                changes += 1
                await asyncio.sleep(period_s)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    return changes


async def _stream(http: aiohttp.ClientSession, url: str, token: str, tracker: Tracker, until: float) -> int:
    events = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(url + "/v1/supervisor/stream", headers=headers, timeout=aiohttp.ClientTimeout()) as r:
        assert r.status == 200, await r.text()
        loop = asyncio.get_running_loop()
        while loop.time() < until + 2.0:
            line = await r.content.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                tracker.seen(json.loads(line[6:]), time.monotonic())
                events += 1
    return events


async def measure(cluster: LocalCluster, *, per_site: int, seconds: float, per_minute: float) -> dict[str, Any]:
    signer = TokenSigner(cluster.secret, ttl_s=3600)
    sites = {p.name: p.url for p in cluster.procs if p.role == "site"}
    tracker = Tracker()
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = loop.time() + 3.0  # every socket joins before the clock runs
        until = start + seconds
        streams = [
            asyncio.create_task(
                _stream(http, url, signer.issue("agent", f"m-{n}", site=n, role="manager"), tracker, until)
            )
            for n, url in sites.items()
        ]
        agents = []
        for name, url in sites.items():
            for i in range(per_site):
                agent_id = f"bench-{name}-{i:03d}"
                token = signer.issue("agent", agent_id, site=name, role="agent", name=agent_id, skills=SKILLS,
                                     team=f"bench-{i % 10}")  # fmt: skip
                ws_url = url.replace("http", "ws", 1) + "/ws"
                agents.append(_agent(http, ws_url, token, agent_id, tracker, period_s=60.0 / per_minute, until=until))
        changes = sum(await asyncio.gather(*agents))
        events = sum(await asyncio.gather(*streams))
    samples = tracker.latencies_ms
    return {
        "console_update_ms_p99": percentile(samples, 0.99),
        "console_update_ms_p50": percentile(samples, 0.50),
        "console_update_ms_max": round(max(samples), 1) if samples else None,
        "config_apply_ms_p99": None,
        "agents": per_site * len(sites),
        "sites": len(sites),
        "changes_per_agent_per_min": per_minute,
        "seconds": seconds,
        "changes_sent": changes,
        "changes_seen": len(samples),
        "changes_unseen": len(tracker.pending) + tracker.superseded,
        "stream_events": events,
        "refused": tracker.errors,
        "notes": "config_apply_ms_p99: administration is not built on this branch (issue 19 point 4)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="60 agents for 20 s instead of 300 for 60 s")
    args = parser.parse_args()
    per_site, seconds = (20, 20.0) if args.quick else (100, 60.0)
    with tempfile.TemporaryDirectory(prefix="bench-supervisor-") as tmp:
        cluster = LocalCluster(Path(tmp), sites=3, centrals=1, base_port=0)
        cluster.start(timeout_s=120.0)
        try:
            result = asyncio.run(measure(cluster, per_site=per_site, seconds=seconds, per_minute=10.0))
        finally:
            cluster.stop()
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
