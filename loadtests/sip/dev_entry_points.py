"""An editable install made before the ``sip-edge`` command existed has no entry points for it;
the cluster's subprocesses then find them through a small ``.dist-info`` put on their
PYTHONPATH (a fresh ``pip install -e .`` needs none of this). Used by tests/sip and bench_sip."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path


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
