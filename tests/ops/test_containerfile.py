"""deploy/Containerfile, linted by structure (no registry here to build it): multi-stage,
the runtime stage runs as a non-root user, copies only from the build stage, holds no secrets."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "deploy" / "Containerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_containerfile_is_multi_stage_and_runs_as_non_root() -> None:
    steps = _instructions()
    stages = [arg for op, arg in steps if op == "FROM"]
    assert len(stages) >= 2 and all(re.search(r":\S+ AS \w+$", s, re.IGNORECASE) for s in stages)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    runtime = steps[last_from:]
    users = [arg for op, arg in runtime if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    user_at = max(i for i, (op, _) in enumerate(runtime) if op == "USER")
    assert not any(op == "RUN" for op, _ in runtime[user_at:])  # nothing runs as root after
    copies = [arg for op, arg in runtime if op == "COPY"]
    assert copies and all(arg.startswith("--from=build ") for arg in copies)
    assert any(op == "ENTRYPOINT" for op, _ in runtime)


def test_containerfile_holds_no_secrets_and_pins_the_etcd_client_by_hash() -> None:
    steps = _instructions()
    for op, arg in steps:
        if op in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"SECRET|PASSWORD|_KEY\b|TOKEN", arg, re.IGNORECASE), arg
        assert op != "ADD" or not arg.startswith("http"), "no remote ADD"
    assert any("--require-hashes" in arg for op, arg in steps if op == "RUN")
