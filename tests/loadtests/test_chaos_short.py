"""CI runs the short chaos schedule (one fault of each kind under Locust load) and requires
0 lost calls, 0 double-routed calls, 0 lost queue positions and 0 false failovers (a site
failed over early while it was only paused or cut off)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_short_chaos_schedule_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    result = subprocess.run(
        [sys.executable, "-m", "loadtests.chaos", "--short", "--json", str(out), "--results-dir",
         str(tmp_path / "results")],
        cwd=ROOT, capture_output=True, text=True, timeout=880, check=False,
    )
    summary = json.loads(out.read_text())
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "chaos-short.json").write_text(json.dumps(summary, indent=2))
    assert summary["faults"] == 5
    assert summary["calls"] > 50
    for key in ("lost_calls", "double_routed", "lost_queue_positions", "duplicated_outcomes",
                "written_by_non_leader", "connected_to_two_agents", "agents_inconsistent", "false_failovers"):
        assert summary[key] == 0, (key, summary["examples"], result.stdout[-2000:])
    assert summary["bad_input"]["failures"] == []
    assert summary["worst_recovery_s"] is not None
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
