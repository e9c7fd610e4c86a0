"""A newcomer's first call: the demo's simulated agents answer it, and ``callcenter call``
says so in a readable timeline (routed, IVR, answered by whom, audio heard, ended)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import centrals, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1, agents=2) as c:
        yield c


def test_the_first_call_is_answered_by_a_simulated_agent_with_audio(cluster: LocalCluster) -> None:
    assert "demo customer" in "\n".join(cluster.try_lines())
    result = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "call", "--to", "95589", "--digits", "0", "--seconds", "40",
         "--central", ",".join(centrals(cluster))],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    lines = [line.split("s  ", 1)[1] for line in out.splitlines() if "s  " in line]
    assert lines[0].startswith("routed to branch-north") and "IVR: pressed 0" in lines
    answered = next(line for line in lines if line.startswith("answered by "))
    assert answered != "answered by an agent"  # the agent's name
    assert "audio heard from the agent: yes" in lines
    assert any(line.startswith("ended: answered_completed") for line in lines)
    assert "hearing level" not in out  # the detail is for --verbose
