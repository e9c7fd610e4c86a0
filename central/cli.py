"""The central coordinator's ``callcenter`` commands: ``central`` (listed in ``callcenter.commands``).

``stats`` lives with the statistics job (:mod:`central.stats.cli`).
"""

from __future__ import annotations

import click

from central.config import CentralSettings
from cluster.commands import common_options, load_role_settings, run_service
from cluster.logs import setup_logging


@click.command("central")
@common_options
def central_command(
    config: str | None, etcd_endpoints: str | None, host: str | None, port: int | None, name: str | None
) -> None:
    """Run a central coordinator replica."""
    settings = load_role_settings(
        CentralSettings,
        config,
        {"etcd": {"endpoints": etcd_endpoints}, "central": {"name": name, "http": {"host": host, "port": port}}},
    )
    setup_logging("central", level=settings.log_level)
    from central.node import CentralNode

    run_service(CentralNode(settings).run_until)
