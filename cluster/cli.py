"""The ``callcenter`` command: one entry point for every process of the cluster.

    callcenter etcd      a development etcd server (real etcd, loopback)
    callcenter demo      the whole local cluster with demo data, URLs printed
    callcenter central   a central coordinator replica          (from central)
    callcenter stats     the statistics job on Ray              (from central)
    callcenter site      a site node (one per branch)           (from site_node)
    callcenter seed      demo data into site databases          (from site_node)
    callcenter call      place a test call with the Python client (from webrtc_client)

This module knows no role: ``etcd`` and ``demo`` are role-free (``demo`` starts every role as a
``python -m cluster.cli <command>`` subprocess); every other command is contributed by its role
package through the ``callcenter.commands`` entry-point group (command name ->
``module:click_command``) and imported only when used, so one role's import error breaks that
command alone (``callcenter --help`` still lists it, marked unavailable).

``callcenter --help`` imports no role: each command's one-line help is read from its module's
source (:func:`static_short_help`), so listing the commands costs no aiortc, Ray or SQLAlchemy
import; a command's module is imported only when it runs (or shows its own ``--help``).
"""

from __future__ import annotations

import ast
import importlib.util
import tempfile
import time
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import click

from cluster.errors import CallCenterError

COMMANDS_GROUP = "callcenter.commands"


def contributed_commands() -> dict[str, EntryPoint]:
    """Command name -> entry point, from every installed role's ``callcenter.commands`` group."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=COMMANDS_GROUP):
        found.setdefault(point.name, point)
    return found


def _unavailable(name: str, point: EntryPoint, exc: BaseException) -> click.Command:
    reason = f"{point.value}: {type(exc).__name__}: {exc}"

    def fail(**_: Any) -> None:
        raise click.ClickException(f"'{name}' is not available in this build: {reason}")

    return click.Command(
        name,
        callback=fail,
        help=f"(unavailable: {reason})",
        short_help=f"(unavailable: {type(exc).__name__})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )


def _module_file(module: str) -> Path | None:
    """Where ``module``'s source is, found without importing it or its parent packages."""
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)  # a top-level spec does not import the package
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def static_short_help(point: EntryPoint) -> str:
    """The first line of the command function's docstring, read from source without importing.

    A module that is not there is listed as unavailable; one that fails to import (a missing
    dependency) says so when its command runs.
    """
    module, _, attr = (part.strip() for part in point.value.partition(":"))
    try:
        path = _module_file(module)
        tree = ast.parse(path.read_text()) if path is not None else None
    except (OSError, SyntaxError, ValueError, ImportError) as exc:
        return f"(unavailable: {type(exc).__name__})"
    if tree is None:
        return f"(unavailable: no module {module})"
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == attr:
            first = (ast.get_docstring(node) or "").strip().split("\n\n")[0].replace("\n", " ")
            return click.utils.make_default_short_help(first, 60)
    return f"(from {module})"


class RoleCommands(click.Group):
    """A group whose commands beyond its own come from the ``callcenter.commands`` entry points."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, with contributed commands described from source (none is imported)."""
        contributed = contributed_commands()
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            own = super().get_command(ctx, name)
            if own is not None:
                if not own.hidden:
                    rows.append((name, own.get_short_help_str(60)))
            elif name in contributed:
                rows.append((name, static_short_help(contributed[name])))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *contributed_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        own = super().get_command(ctx, cmd_name)
        if own is not None:
            return own
        point = contributed_commands().get(cmd_name)
        if point is None:
            return None
        try:
            command = point.load()
        except Exception as exc:  # one role's broken import must not break the other commands
            return _unavailable(cmd_name, point, exc)
        if not isinstance(command, click.Command):
            return _unavailable(cmd_name, point, TypeError(f"{point.value} is not a click command"))
        return command


@click.group(cls=RoleCommands)
@click.version_option(package_name="callcenter", prog_name="callcenter", message="%(prog)s %(version)s")
def main() -> None:
    """Multi-branch contact-center cluster."""


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="etcd data directory")
def etcd(data_dir: str | None) -> None:
    """Run a development etcd server on free loopback ports (Ctrl-C stops it)."""
    from cluster.etcd_server import EtcdCluster

    base = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="cc-etcd-"))
    cluster = EtcdCluster(base)
    try:
        cluster.start()
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"etcd ready at {cluster.endpoints[0]}  (export CC_ETCD__ENDPOINTS={cluster.endpoints[0]})")
    try:
        while all(m.process is not None and m.process.poll() is None for m in cluster.members):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


@main.command()
@click.option("--sites", default=3, show_default=True, help="number of site nodes")
@click.option("--centrals", default=2, show_default=True, help="number of central replicas")
@click.option("--base-port", default=8000, show_default=True, help="first HTTP port (centrals, then sites)")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="where etcd, databases and logs go")
@click.option("--seed/--no-seed", default=True, show_default=True, help="load demo data into the site databases")
@click.option("--agents", default=3, show_default=True, help="simulated agents per site (0: none)")
@click.option("--tls", is_flag=True, help="https/wss everywhere, with a throw-away CA made in the data dir")
def demo(sites: int, centrals: int, base_port: int, data_dir: str | None, seed: bool, agents: int,
         tls: bool) -> None:
    """Run a whole local cluster: etcd, centrals, sites, demo data and simulated agents;
    Ctrl-C (or SIGTERM, SIGHUP) stops everything."""
    from cluster.launcher import LocalCluster

    base = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="cc-demo-"))
    cluster = LocalCluster(
        base, sites=sites, centrals=centrals, base_port=base_port, seed=seed, agents=agents if seed else 0, tls=tls,
        sip_edges=1, backoffice=True,
    )
    try:
        cluster.run_foreground()
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
