"""What every role's ``callcenter`` command shares: options, settings loading, the service runner.

A role package defines its commands in its own ``cli.py`` with these helpers and lists them in
the ``callcenter.commands`` entry-point group; :mod:`cluster.cli` loads them by name.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click
import uvloop

from cluster.config import ClusterSettings, load_settings, require_etcd_password, require_secret
from cluster.errors import CallCenterError
from cluster.tasks import cancel_and_wait

S = TypeVar("S", bound=ClusterSettings)


def load_role_settings(model: type[S], config: str | None, overrides: dict[str, Any]) -> S:
    """Settings for one role's service; a bad configuration, or no token secret, is a click
    error naming the key (the process does not start)."""
    try:
        settings = load_settings(config, overrides=drop_none(overrides), model=model)
        require_secret(settings.tokens)
        require_etcd_password(settings.etcd)
        return settings
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


async def serve_until(
    stop: asyncio.Event, start: Callable[[], Coroutine[Any, Any, None]], shut: Callable[[], Awaitable[None]]
) -> None:
    """Start a service and run it until ``stop`` is set; a signal during start-up (etcd not
    reachable yet, say) stops it at once instead of waiting for start-up to finish."""
    starting: asyncio.Task[None] = asyncio.create_task(start(), name="service-start")
    stopping = asyncio.create_task(stop.wait(), name="service-stop")
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a start-up error is raised, not swallowed
            await stopping
    finally:
        await cancel_and_wait([starting, stopping])
        await shut()


def drop_none(tree: dict[str, Any]) -> dict[str, Any]:
    """``tree`` without unset (``None``) options and the sections left empty by that."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            nested = drop_none(value)
            if nested:
                out[key] = nested
        elif value is not None:
            out[key] = value
    return out


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config``, ``--etcd``, ``--host``, ``--port``, ``--name``: the options every service takes."""
    config_path = click.Path(dir_okay=False)
    func = click.option("--config", "config", type=config_path, default=None, help="YAML config file")(func)
    func = click.option("--etcd", "etcd_endpoints", default=None, help="etcd endpoints, comma separated")(func)
    func = click.option("--host", default=None, help="HTTP listen address")(func)
    func = click.option("--port", type=int, default=None, help="HTTP port")(func)
    func = click.option("--name", default=None, help="this process's name")(func)
    return func
