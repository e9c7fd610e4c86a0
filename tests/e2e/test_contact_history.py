"""The demo's business database: the demo customers are at central, and a real call from a demo
customer's phone lands in their contact history at central, read through another replica."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from cluster.launcher import LocalCluster
from cluster.tokens import TokenSigner
from site_node.storage.seed import demo_customer
from tests.e2e.helpers import centrals, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=2, agents=2) as c:
        yield c


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_demo_call_is_in_the_customers_central_history(cluster: LocalCluster) -> None:
    customer = demo_customer()
    token = TokenSigner(cluster.secret, ttl_s=600).issue("agent", "north-05", role="agent")
    first, second = centrals(cluster)[:2]
    found = _get(f"{first}/v1/customers/lookup?phone={quote(customer['phone'])}", token)["customers"]
    assert [c["customer_number"] for c in found] == [customer["customer_number"]]
    assert "pin_hash" not in found[0] and found[0]["has_pin"]
    result = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "call", "--to", "95589", "--from", customer["phone"], "--digits", "0",
         "--seconds", "12", "--central", ",".join(centrals(cluster))],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    entries: list[dict[str, Any]] = []
    for _ in range(50):  # the site writes it when the call ends (and again after the wrap-up)
        entries = _get(f"{second}/v1/customers/{customer['customer_number']}/history", token)["entries"]
        if entries:
            break
        subprocess.run(["sleep", "0.2"], check=True)
    (entry,) = [e for e in entries if e["kind"] == "call"]
    assert entry["site"] == "branch-north" and entry["details"]["queue"]
    assert entry["details"]["outcome"].startswith("answered")
