"""The ``callcenter`` CLI: role commands come from entry points; cluster/ imports no role."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cluster import cli

ROLES = ("central", "site_node", "webrtc_client", "loadtests")
CLUSTER = Path(cli.__file__).parent


def test_cluster_imports_no_role_anywhere() -> None:
    """Not at module level, not inside functions: the base knows no role."""
    offenders = []
    for path in sorted(CLUSTER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in ROLES]
    assert offenders == []


def test_every_role_command_is_listed_and_loads() -> None:
    runner = CliRunner()
    result = runner.invoke(cli.main, ["--help"])
    assert result.exit_code == 0, result.output
    for name in ("call", "central", "demo", "etcd", "seed", "site", "stats"):
        assert f"  {name} " in result.output
        assert "unavailable" not in result.output
    for name in cli.contributed_commands():
        assert isinstance(cli.main.get_command(click.Context(cli.main), name), click.Command)


def test_a_broken_role_breaks_only_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [
        EntryPoint("site", "site_node.cli:site_command", cli.COMMANDS_GROUP),
        EntryPoint("broken", "no_such_role.cli:command", cli.COMMANDS_GROUP),
    ]
    monkeypatch.setattr(cli, "entry_points", lambda group: [p for p in points if p.group == group])
    runner = CliRunner()
    listing = runner.invoke(cli.main, ["--help"])
    assert listing.exit_code == 0
    assert "broken" in listing.output and "unavailable" in listing.output and "site" in listing.output
    failed = runner.invoke(cli.main, ["broken", "--name", "x"])
    assert failed.exit_code == 1
    assert "'broken' is not available in this build" in failed.output and "no_such_role" in failed.output
    assert "Traceback" not in failed.output
    assert runner.invoke(cli.main, ["site", "--help"]).exit_code == 0
    assert runner.invoke(cli.main, ["demo", "--help"]).exit_code == 0


def test_python_dash_m_cluster_cli_starts_role_commands() -> None:
    """How tests and the launcher start processes: ``python -m cluster.cli <role command>``."""
    for command in ("site", "central", "seed", "demo"):
        result = subprocess.run(
            [sys.executable, "-m", "cluster.cli", command, "--help"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout


HEAVY = ("aiortc", "ray", "sqlalchemy", "aiohttp", "numpy", "pandas", "etcd3aio", "grpc", "pydantic")


@pytest.mark.parametrize("argv", [["--help"], [], ["--version"]])
def test_help_and_version_import_no_role_and_no_heavy_dependency(argv: list[str]) -> None:
    """``callcenter --help`` lists every command from source: no role module is imported."""
    probe = (
        "import sys\n"
        f"sys.argv = ['callcenter', *{argv!r}]\n"
        "from cluster.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"roles = {ROLES!r}\n"
        f"heavy = {HEAVY!r}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {*roles, *heavy})\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout, result.stdout
    if argv == ["--version"]:
        from importlib.metadata import version

        assert f"callcenter {version('callcenter')}" in result.stdout
    else:
        for name in ("central", "site", "stats", "seed"):
            assert f"  {name} " in result.stdout + result.stderr


def test_listed_help_is_the_commands_own_first_line() -> None:
    """The text --help shows without importing equals what the loaded command says of itself."""
    ctx = click.Context(cli.main)
    for name, point in cli.contributed_commands().items():
        command = cli.main.get_command(ctx, name)
        assert command is not None
        assert cli.static_short_help(point) == command.get_short_help_str(60), name
