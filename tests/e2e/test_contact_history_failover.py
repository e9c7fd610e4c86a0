"""A customer's contact history survives a SIGKILL of the central replica that served the call:
real processes (etcd, two centrals over one business database, a site), real calls from a demo
customer's phone. The site's look-ups and history writes went to one replica (its audit rows
say which); that replica is killed; the entry is still there through the other, and the next
call of the same customer lands in the same timeline through the survivor."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from cluster.launcher import LocalCluster
from cluster.tokens import TokenSigner
from site_node.storage.seed import demo_customer
from tests.e2e.helpers import centrals, proc, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=2, agents=2) as c:
        yield c


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _call(cluster: LocalCluster, phone: str, central_urls: list[str]) -> None:
    """One real call to the credit-card line, to an agent; retried while central elects a new leader."""
    result = None
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-m", "cluster.cli", "call", "--to", "95589", "--from", phone, "--digits", "0",
             "--seconds", "8", "--central", ",".join(central_urls)],
            capture_output=True, text=True, timeout=90, cwd=REPO, check=False,
        )  # fmt: skip
        if result.returncode == 0:
            return
        time.sleep(2.0)
    assert result is not None and result.returncode == 0, result.stdout + result.stderr


def _calls(url: str, number: str, token: str, want: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for _ in range(100):  # the site writes the entry when the call ends (and again after the wrap-up)
        entries = [e for e in _get(f"{url}/v1/customers/{number}/history?limit=50", token)["entries"]
                   if e["kind"] == "call"]  # fmt: skip
        if len(entries) >= want:
            break
        time.sleep(0.2)
    return entries


def _key(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What identifies a call's entry (its details gain the wrap-up later: same entry, updated)."""
    return [(e["id"], e["site"], e["details"]["call_id"], e["details"]["outcome"]) for e in entries]


def _replicas_that_served(cluster: LocalCluster, site: str) -> set[str]:
    with sqlite3.connect(cluster.base_dir / "data" / "business.db") as db:
        rows = db.execute("select distinct replica from crm_audit where actor = ?", (f"site:{site}",)).fetchall()
    return {r[0] for r in rows}


def test_the_history_survives_a_sigkill_of_the_replica_that_served_the_call(cluster: LocalCluster) -> None:
    customer = demo_customer()
    token = TokenSigner(cluster.secret, ttl_s=600).issue("agent", "north-05", role="agent")
    _call(cluster, customer["phone"], centrals(cluster))
    before = _calls(centrals(cluster)[0], customer["customer_number"], token, 1)
    assert len(before) == 1 and before[0]["site"] == "branch-north"

    served = _replicas_that_served(cluster, "branch-north")
    assert len(served) == 1, served  # the site keeps to the replica that answered last
    (victim,) = served
    proc(cluster, victim).signal(signal.SIGKILL)
    urls = {p.name: p.url for p in cluster.procs if p.role == "central"}
    survivor = next(url for name, url in urls.items() if name != victim)
    after = _calls(survivor, customer["customer_number"], token, 1)
    assert _key(after) == _key(before)  # the same entry, read through the other replica

    _call(cluster, customer["phone"], [survivor])  # the site now writes through the survivor
    both = _calls(survivor, customer["customer_number"], token, 2)
    assert len(both) == 2 and _key(both[1:]) == _key(before)  # newest first: the earlier call kept
    assert both[0]["details"]["call_id"] != before[0]["details"]["call_id"] and both[0]["site"] == "branch-north"
    assert both[0]["details"]["outcome"].startswith("answered")
    found = _get(f"{survivor}/v1/customers/lookup?phone={quote(customer['phone'])}", token)["customers"]
    assert [c["customer_number"] for c in found] == [customer["customer_number"]]
