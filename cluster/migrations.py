"""``callcenter migrate``: schema migrations as an operator's step, for every database that
registers one.

    callcenter migrate                      upgrade the site database to this build's schema
    callcenter migrate current              the revision it is at
    callcenter migrate history              every revision, newest first
    callcenter migrate --sql                the DDL for a DBA (PostgreSQL), nothing is run
    callcenter migrate --target site --database-url postgresql://... upgrade

A database is a *target*: an object satisfying :class:`MigrationTarget`, listed by its role in
the ``callcenter.migrations`` entry-point group (``site = "site_node.storage.migrate:SITE_MIGRATIONS"``);
another database (a business database, say) registers its own the same way. cluster/ knows no
role: targets are found by name and imported only when used. The URL is ``--database-url`` or,
without it, what the configuration says (file and ``CC_*`` variables, as the service reads it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol

import click

from cluster.errors import CallCenterError

TARGETS_GROUP = "callcenter.migrations"


class RevisionInfo(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def down(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def head(self) -> bool: ...


class MigrationTarget(Protocol):
    """What ``callcenter migrate`` needs of a database."""

    description: str

    def configured_url(self, settings: Any) -> str: ...

    async def upgrade(self, url: str, revision: str, settings: Any) -> str | None: ...

    async def current(self, url: str) -> str | None: ...

    def history(self) -> Sequence[RevisionInfo]: ...

    def offline_sql(self, url: str, revision: str) -> str: ...


class UnknownTarget(CallCenterError):
    error_id = "migrate.unknown_target"
    status = 400


class BadMigrateRequest(CallCenterError):
    error_id = "migrate.bad_request"
    status = 400


def registered_targets() -> dict[str, EntryPoint]:
    """Target name -> entry point, from every installed role's ``callcenter.migrations`` group."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=TARGETS_GROUP):
        found.setdefault(point.name, point)
    return found


def load_target(name: str) -> MigrationTarget:
    points = registered_targets()
    if name not in points:
        known = ", ".join(sorted(points)) or "none installed"
        raise UnknownTarget(f"no database {name!r} to migrate (known: {known})", target=name)
    target: MigrationTarget = points[name].load()
    return target


def run_migrate(
    target_name: str, action: str, *, url: str | None, sql: bool, revision: str, config: str | None
) -> list[str]:
    """Do what ``callcenter migrate`` was asked; the lines to print. Errors are CallCenterErrors."""
    if sql and action != "upgrade":
        raise BadMigrateRequest(f"--sql prints the DDL of an upgrade; it does not go with {action!r}")
    target = load_target(target_name)
    if action == "history":
        return [
            f"{rev.down or '<base>'} -> {rev.id}{' (head)' if rev.head else ''}  {rev.title}".rstrip()
            for rev in target.history()
        ]
    from cluster.config import load_settings  # pydantic: only when a database is touched

    settings = load_settings(config)
    database = url or target.configured_url(settings)
    if sql:
        return [target.offline_sql(database, revision).rstrip("\n")]
    if action == "current":
        return [asyncio.run(target.current(database)) or "<none: empty database>"]
    now = asyncio.run(target.upgrade(database, revision, settings))
    return [f"{target_name} database at revision {now}"]


@click.command("migrate")
@click.argument("action", type=click.Choice(["upgrade", "current", "history"]), default="upgrade")
@click.option("--target", "target_name", default="site", show_default=True, help="which database")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: the configured one)")
@click.option("--sql", is_flag=True, help="print the upgrade's SQL for a DBA instead of running it")
@click.option("--revision", default="head", show_default=True, help="upgrade to (with --sql: FROM:TO)")
@click.option("--config", type=click.Path(dir_okay=False), default=None, help="YAML config file")
def migrate_command(
    action: str, target_name: str, database_url: str | None, sql: bool, revision: str, config: str | None
) -> None:
    """Migrate a database's schema on demand (upgrade, current, history; --sql for a DBA)."""
    try:
        lines = run_migrate(target_name, action, url=database_url, sql=sql, revision=revision, config=config)
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)
