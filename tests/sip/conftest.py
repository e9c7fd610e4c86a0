"""SIP tests: a real local cluster with Kamailio and a SIP edge; SIPp as the carrier.

An editable install made before the ``sip-edge`` command existed has no entry points for it;
the subprocesses then find them through a small ``.dist-info`` put on their PYTHONPATH (a
fresh ``pip install -e .`` needs none of this)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from cluster.launcher import LocalCluster
from tests.e2e.conftest import pytest_runtest_makereport  # noqa: F401  (logs of a failed test)
from tests.e2e.helpers import running_cluster

needs_sip = pytest.mark.skipif(
    shutil.which("kamailio") is None or shutil.which("sipp") is None, reason="kamailio and sipp (apt) are needed"
)


def sip_entry_points(base: Path) -> dict[str, str]:
    if any(p.name == "sip-edge" for p in entry_points(group="callcenter.commands")):
        return {}
    info = base / "entry-points" / "callcenter_sip_dev-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: callcenter-sip-dev\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[callcenter.commands]\nsip-edge = site_node.sip.cli:sip_edge_command\n\n"
        "[callcenter.config]\nsip = site_node.sip.config:SipConfig\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, str(info.parent), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    base = tmp_path_factory.mktemp("sipcluster")
    with running_cluster(base, sites=2, centrals=1, sip_edges=1, extra_env=sip_entry_points(base)) as c:
        yield c
