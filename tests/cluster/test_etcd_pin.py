"""The etcd client is pinned by hash, and the pin agrees with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = ROOT / "deploy" / "pins" / "etcd-client.txt"


def test_the_etcd_client_is_pinned_by_hash_to_the_version_pyproject_declares() -> None:
    text = PIN.read_text()
    pinned = re.search(r"^etcd3aio==(\S+)", text, re.MULTILINE)
    assert pinned is not None
    hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})\b", text)
    assert len(hashes) >= 1
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"etcd3aio=={pinned.group(1)}" in declared
    assert version("etcd3aio") == pinned.group(1)


def test_install_script_installs_the_pin_in_hash_mode_before_the_editable_install() -> None:
    script = (ROOT / "scripts" / "install.sh").read_text()
    pin_step = script.index("--require-hashes --no-deps -r deploy/pins/etcd-client.txt")
    assert pin_step < script.index('-e ".[dev]"')
