"""``callcenter sip-edge``: the SIP edge behind Kamailio (listed in ``callcenter.commands``)."""

from __future__ import annotations

import asyncio

import click

from cluster.commands import common_options, load_role_settings, run_service, serve_until
from cluster.logs import setup_logging
from site_node.sip.config import SipSettings


@click.command("sip-edge")
@common_options
@click.option("--central", "central_urls", default=None, help="central URLs, comma separated")
@click.option("--rtp-host", default=None, help="the address RTP is sent to and from")
@click.option("--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port")
def sip_edge_command(
    config: str | None,
    etcd_endpoints: str | None,
    host: str | None,
    port: int | None,
    name: str | None,
    central_urls: str | None,
    rtp_host: str | None,
    metrics_port: int | None,
) -> None:
    """Run a SIP edge: carrier calls (through Kamailio) into the cluster as RTP legs."""
    settings = load_role_settings(
        SipSettings,
        config,
        {
            "etcd": {"endpoints": etcd_endpoints},
            "sip": {"name": name, "host": host, "port": port, "central_urls": central_urls, "rtp_host": rtp_host,
                    "metrics": {"port": metrics_port}},
        },
    )
    setup_logging("sip-edge", site=settings.sip.name, level=settings.log_level)
    from cluster.http import HttpServer, metrics_app
    from cluster.tokens import TokenSigner
    from site_node.sip.ua import SipUserAgent

    async def run(stop: asyncio.Event) -> None:
        ua = SipUserAgent(settings.sip, TokenSigner(settings.tokens.secret or ""))
        metrics = settings.sip.metrics
        server = None if metrics.port is None else HttpServer(
            metrics_app(), metrics.host, metrics.port, port_flag="--metrics-port / CC_SIP__METRICS__PORT")

        async def start() -> None:
            await ua.start()
            if server is not None:
                await server.start()

        async def shut() -> None:
            if server is not None:
                await server.stop()
            await ua.stop()

        await serve_until(stop, start, shut)

    run_service(run)
