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
"""

from __future__ import annotations

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


class RoleCommands(click.Group):
    """A group whose commands beyond its own come from the ``callcenter.commands`` entry points."""

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
        sip_edges=1,
    )
    try:
        cluster.run_foreground()
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
