"""The back-office simulator as a real process on a free port (``python -m central.backoffice``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def backoffice_url() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "central.backoffice", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("backoffice ready at "), line
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)
