"""The campaign benchmark runs and its simulation follows the rules it measures."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests import bench_campaign


def test_the_quick_benchmark_writes_its_keys(tmp_path: Path) -> None:
    out = tmp_path / "campaign.json"
    assert bench_campaign.main(["--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["decisions"] == 2000 and result["dial_decisions_per_s"] > 0
    # at ratio 1 every call has its agent reserved before it rings: nobody answers into silence
    assert result["abandon_rate"] == 0.0 and result["answered_at_ratio_1"] > 0
    assert result["abandon_rate_by_ratio"]["2.0"] > result["abandon_rate_by_ratio"]["1.5"] > 0
