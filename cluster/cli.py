"""The ``callcenter`` command: one entry point for every process of the cluster.

    callcenter etcd      a development etcd server (real etcd, loopback)
    callcenter central   a central coordinator replica
    callcenter site      a site node (one per branch)
    callcenter demo      the whole local cluster with demo data, URLs printed
    callcenter seed      demo data into site databases
    callcenter stats     the statistics job on Ray
    callcenter call      place a test call with the Python client

Subcommands that live in feature packages are imported only when used, so one feature's
import error never breaks the others.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
import uvloop

from cluster.config import Settings, load_settings
from cluster.errors import CallCenterError
from cluster.logs import setup_logging

LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "seed": ("site_node.storage.seed", "seed_command", "load demo data into site databases"),
    "stats": ("central.stats.cli", "stats_command", "compute KPIs and staffing on Ray"),
    "call": ("webrtc_client.cli", "call_command", "place a test call with the Python client"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, attr, _ = LAZY_COMMANDS[cmd_name]
            try:
                command = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise click.ClickException(f"'{cmd_name}' is not available in this build: {exc}") from exc
            return command  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)


def _settings(config: str | None, overrides: dict[str, Any]) -> Settings:
    try:
        return load_settings(config, overrides=overrides)
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc


def run_service(start: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run a service under uvloop until SIGINT/SIGTERM; print actionable errors, not tracebacks."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await start(stop)

    try:
        uvloop.run(main())
    except CallCenterError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _drop_none(tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            nested = _drop_none(value)
            if nested:
                out[key] = nested
        elif value is not None:
            out[key] = value
    return out


@click.group(cls=LazyGroup)
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


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    config_path = click.Path(dir_okay=False)
    func = click.option("--config", "config", type=config_path, default=None, help="YAML config file")(func)
    func = click.option("--etcd", "etcd_endpoints", default=None, help="etcd endpoints, comma separated")(func)
    func = click.option("--host", default=None, help="HTTP listen address")(func)
    func = click.option("--port", type=int, default=None, help="HTTP port")(func)
    func = click.option("--name", default=None, help="this process's name")(func)
    return func


@main.command()
@_common
def central(
    config: str | None, etcd_endpoints: str | None, host: str | None, port: int | None, name: str | None
) -> None:
    """Run a central coordinator replica."""
    from central.node import CentralNode

    settings = _settings(
        config,
        _drop_none(
            {"etcd": {"endpoints": etcd_endpoints}, "central": {"name": name, "http": {"host": host, "port": port}}}
        ),
    )
    setup_logging("central", level=settings.log_level)
    run_service(CentralNode(settings).run_until)


@main.command()
@_common
@click.option("--backup", default=None, help="backup sites, comma separated")
@click.option("--database-url", default=None, help="SQLAlchemy URL of the site database")
@click.option("--data-dir", default=None, help="directory for the SQLite file and recordings")
def site(
    config: str | None,
    etcd_endpoints: str | None,
    host: str | None,
    port: int | None,
    name: str | None,
    backup: str | None,
    database_url: str | None,
    data_dir: str | None,
) -> None:
    """Run a site node (one per branch)."""
    from site_node.node import SiteNode

    settings = _settings(
        config,
        _drop_none(
            {
                "etcd": {"endpoints": etcd_endpoints},
                "site": {
                    "name": name,
                    "http": {"host": host, "port": port},
                    "backup_sites": backup,
                    "database_url": database_url,
                    "data_dir": data_dir,
                },
            }
        ),
    )
    setup_logging("site", site=settings.site.name, level=settings.log_level)
    run_service(SiteNode(settings).run_until)


@main.command()
@click.option("--sites", default=3, show_default=True, help="number of site nodes")
@click.option("--centrals", default=2, show_default=True, help="number of central replicas")
@click.option("--base-port", default=8000, show_default=True, help="first HTTP port (centrals, then sites)")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="where etcd, databases and logs go")
@click.option("--seed/--no-seed", default=True, show_default=True, help="load demo data into the site databases")
def demo(sites: int, centrals: int, base_port: int, data_dir: str | None, seed: bool) -> None:
    """Run a whole local cluster: etcd, centrals, sites, demo data; Ctrl-C stops everything."""
    from cluster.launcher import LocalCluster

    base = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="cc-demo-"))
    cluster = LocalCluster(base, sites=sites, centrals=centrals, base_port=base_port, seed=seed)
    try:
        cluster.run_foreground()
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
