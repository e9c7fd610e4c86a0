"""``callcenter audit verify``: walk a site database's audit chains, exit non-zero on a break.

    callcenter audit verify --database-url sqlite:///data/branch-north.db
    callcenter audit verify --site branch-north --data-dir data

Prints each site's chain (entries, head hash: keep the head somewhere else and pass it back as
``--expect-head SITE=HASH`` to detect the newest entries being cut off), then the first entry
that was edited, deleted before, or inserted out of chain. Exit status: 0 intact, 1 broken,
2 the database could not be read.
"""

from __future__ import annotations

import asyncio
import sys

import click

from site_node.storage.audit import verify_database
from site_node.storage.engine import default_database_url
from site_node.storage.errors import StorageError


@click.group("audit")
def audit_command() -> None:
    """The audit trail: verify its hash chains."""


@audit_command.command("verify")
@click.option("--database-url", default=None, help="SQLAlchemy URL of the site database")
@click.option("--site", default=None, help="with --data-dir: the site's default SQLite file")
@click.option("--data-dir", default="data", show_default=True, help="where SQLite files are")
@click.option("--expect-head", default=None, help="SITE=HASH: a head recorded earlier must still be in that chain")
def verify_command(database_url: str | None, site: str | None, data_dir: str, expect_head: str | None) -> None:
    """Walk every chain; report the first entry edited, deleted or inserted out of chain."""
    if (database_url is None) == (site is None):
        raise click.UsageError("give exactly one of --database-url URL or --site NAME")
    url = database_url or default_database_url(data_dir, str(site))
    try:
        report = asyncio.run(verify_database(url))
    except StorageError as exc:
        click.echo(f"cannot read the audit trail: {exc}", err=True)
        sys.exit(2)
    for chain in report.chains.values():
        state = "intact" if not chain.breaks else "BROKEN"
        click.echo(f"site {chain.site or '(none)'}: {chain.entries} entries, head {chain.head}, {state}")
    broken = report.first_break
    if broken is not None:
        click.echo(f"audit chain broken: {broken.describe()}", err=True)
        sys.exit(1)
    if expect_head is not None:
        name, _, head = expect_head.partition("=")
        expected = report.chains.get(name)
        if expected is None or head not in expected.hashes:
            click.echo(f"site {name}: {head} is no longer in the chain (its newest entries were cut off)", err=True)
            sys.exit(1)
    click.echo("audit trail intact")
