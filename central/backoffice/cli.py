"""``callcenter backoffice``: the back-office simulator as a process (listed in
``callcenter.commands``; also ``python -m central.backoffice``)."""

from __future__ import annotations

import asyncio

import click


@click.command("backoffice")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int, help="0: a free port")
@click.option("--latency-ms", default=0.0, show_default=True, help="added to every answer")
@click.option("--error-rate", default=0.0, show_default=True, help="fraction of requests answered 503")
def backoffice_command(host: str, port: int, latency_ms: float, error_rate: float) -> None:
    """Run the back-office simulator: the demo bank's core system and the gas utility's billing."""
    from central.backoffice.app import BackofficeApp, Faults
    from cluster.commands import run_service, serve_until
    from cluster.errors import CallCenterError
    from cluster.http import HttpServer

    try:
        faults = Faults(latency_ms=latency_ms, error_rate=error_rate).checked()
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc
    server = HttpServer(BackofficeApp(faults=faults).app, host, port, port_flag="--port")

    async def started() -> None:
        await server.start()
        click.echo(f"backoffice ready at {server.url}", nl=True)

    async def run(stop: asyncio.Event) -> None:
        await serve_until(stop, started, server.stop)

    run_service(run)
