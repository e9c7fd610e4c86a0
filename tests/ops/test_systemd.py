"""deploy/systemd: every unit passes ``systemd-analyze verify`` with no warning (unknown keys,
bad values, missing executables), templates checked as an instance."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
ANALYZE = shutil.which("systemd-analyze")
INSTALLED_PATH = "/opt/callcenter/bin/callcenter"  # where docs/deployment.md installs the venv


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not on this machine (package systemd)")
def test_every_unit_verifies_without_warnings(tmp_path: Path) -> None:
    assert ANALYZE is not None
    fake = tmp_path / "bin" / "callcenter"  # verify checks that ExecStart's program exists
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    names = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text()
        if unit.name.startswith("callcenter-") and unit.suffix == ".service":
            assert INSTALLED_PATH in text, unit.name
        (tmp_path / unit.name).write_text(text.replace(INSTALLED_PATH, str(fake)))
        names.append(unit.name.replace("@.", "@north."))
    assert {"callcenter-central.service", "callcenter-site@north.service", "callcenter-sip-edge.service"} <= set(names)
    result = subprocess.run(
        [ANALYZE, "verify", *names], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "@north" in line]
    assert problems == [], result.stderr
