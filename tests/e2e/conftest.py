"""When an end-to-end test fails, its report carries the warnings and errors the cluster's
processes logged (CI keeps nothing else of a failed run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cluster.launcher import LocalCluster

LINES_PER_PROCESS = 40


def cluster_log_digest(cluster: LocalCluster) -> str:
    parts = []
    for proc in cluster.procs:
        try:
            lines = proc.log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        notable = [line for line in lines if '"level": "info"' not in line and '"level": "debug"' not in line]
        if notable:
            parts.append(f"--- {proc.name} ({proc.log_path})\n" + "\n".join(notable[-LINES_PER_PROCESS:]))
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.when == "call" and report.failed and isinstance(cluster, LocalCluster):
        report.sections.append(("cluster logs (warnings and errors)", cluster_log_digest(cluster)))
