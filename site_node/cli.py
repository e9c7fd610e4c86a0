"""The site node's ``callcenter`` commands: ``site`` (listed in ``callcenter.commands``).

``seed`` lives with the storage it fills (:mod:`site_node.storage.seed`).
"""

from __future__ import annotations

import click

from cluster.commands import common_options, load_role_settings, run_service
from cluster.errors import CallCenterError
from cluster.logs import setup_logging
from site_node.config import SiteSettings, require_account_key
from site_node.recordings.sealed import require_audio_keys


@click.command("site")
@common_options
@click.option("--backup", default=None, help="backup sites, comma separated")
@click.option("--database-url", default=None, help="SQLAlchemy URL of the site database")
@click.option("--data-dir", default=None, help="directory for the SQLite file and recordings")
def site_command(
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
    settings = load_role_settings(
        SiteSettings,
        config,
        {
            "etcd": {"endpoints": etcd_endpoints},
            "site": {
                "name": name,
                "http": {"host": host, "port": port},
                "backup_sites": backup,
                "database_url": database_url,
                "data_dir": data_dir,
            },
        },
    )
    try:
        require_account_key(settings.site)
        require_audio_keys(settings.site)
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc
    setup_logging("site", site=settings.site.name, level=settings.log_level)
    from site_node.node import SiteNode  # after the configuration is known good: media imports are heavy

    run_service(SiteNode(settings).run_until)
