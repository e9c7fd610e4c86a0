"""``callcenter config render inventory.yaml``: one configuration file per process, for a
deployment of many branches, validated by the same schema the processes load.

An inventory names the settings every process shares, then groups of processes by the
configuration section they run (a section some role contributes through the
``callcenter.config`` entry points: ``central``, ``site``, ``sip``; this module knows none)::

    defaults:                    # every process (etcd, tls, log_level)
      etcd: {endpoints: [10.0.0.11:2379, 10.0.0.12:2379, 10.0.0.13:2379], ca_file: /etc/cc/ca.crt}
    groups:
      central:
        defaults: {http: {port: 8000}}          # every member of the group, in its section
        members:
          central-1: {http: {host: 10.0.1.11}}
      site:
        defaults: {migrate_on_start: false}
        members:
          north: {database_url: "postgresql+asyncpg://cc@db-north/cc", backup_sites: [south]}

Member ``north`` of group ``site`` becomes ``site-north.yaml`` (``central-1`` stays
``central-1.yaml``) holding ``defaults`` plus ``site: {name: north, ...}``. Every file is
validated before any is written (certificate paths are not checked: they are on the target
hosts). Secrets never go in an inventory (it is kept in version control): keys such as
``tokens.secret`` or ``site.recording_key`` are refused; they come from the environment
(``CC_TOKENS__SECRET``) on each host.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import yaml

from cluster.config import contributed_sections, merge_trees, settings_model, validate_tree
from cluster.errors import CallCenterError, ConfigError

_SECRET = re.compile(r"(^|_)(secret|secrets|password|key|keys)$")  # tokens.secret, site.recording_key, ...
_NOT_SECRET = {"key_file"}  # a path to a key on the host, not the key


class InventoryError(CallCenterError):
    error_id = "inventory.invalid"
    status = 400


def _secret_keys(tree: Any, prefix: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            dotted = f"{prefix}{key}"
            if isinstance(key, str) and key not in _NOT_SECRET and _SECRET.search(key):
                found.append(dotted)
            found += _secret_keys(value, dotted + ".")
    return found


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InventoryError(f"{where} must be a mapping", error_id="inventory.bad_shape", key=where)
    return value


def file_name(group: str, member: str) -> str:
    return f"{member}.yaml" if member.startswith(f"{group}-") else f"{group}-{member}.yaml"


def render(inventory: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """File name -> configuration tree, every one validated; raises on the first problem."""
    inventory = _mapping(inventory, "the inventory")
    unknown = sorted(set(inventory) - {"defaults", "groups"})
    if unknown:
        raise InventoryError(f"unknown inventory key {unknown[0]!r} (defaults, groups)", error_id="inventory.bad_shape")
    defaults = _mapping(inventory.get("defaults"), "defaults")
    sections = contributed_sections()
    model = settings_model()
    files: dict[str, dict[str, Any]] = {}
    for group, spec in _mapping(inventory.get("groups"), "groups").items():
        if group not in sections:
            raise InventoryError(
                f"group {group!r} is not a configuration section (known: {', '.join(sorted(sections))})",
                error_id="inventory.unknown_section",
                key=f"groups.{group}",
            )
        spec = _mapping(spec, f"groups.{group}")
        members = _mapping(spec.get("members"), f"groups.{group}.members")
        group_defaults = _mapping(spec.get("defaults"), f"groups.{group}.defaults")
        named = "name" in sections[group].model_fields
        for member, overrides in members.items():
            section = merge_trees(group_defaults, _mapping(overrides, f"groups.{group}.members.{member}"))
            if named:
                section = {"name": str(member), **section}
            tree = merge_trees(defaults, {group: section})
            name = file_name(group, str(member))
            secrets = _secret_keys(tree)
            if secrets:
                raise InventoryError(
                    f"{name}: {secrets[0]} is a secret: give it to each host from the secret store "
                    "(environment), never in the inventory",
                    error_id="inventory.secret_in_file",
                    key=secrets[0],
                )
            if name in files:
                raise InventoryError(f"two members render {name}", error_id="inventory.duplicate", key=name)
            try:
                validate_tree(model, tree, files_elsewhere=True)
            except ConfigError as exc:
                raise InventoryError(f"{name} ({group} {member}): {exc.message}", error_id=exc.error_id,
                                     **exc.details) from exc  # fmt: skip
            files[name] = tree
    if not files:
        raise InventoryError("the inventory has no members", error_id="inventory.empty")
    return files


def render_file(path: Path, out: Path) -> list[Path]:
    """Render ``path`` into ``out``; nothing is written unless every file is valid."""
    try:
        inventory = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InventoryError(f"cannot read {path}: {exc}", error_id="inventory.unreadable") from exc
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path} is not valid YAML: {exc}", error_id="inventory.bad_shape") from exc
    files = render(inventory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, tree in sorted(files.items()):
        target = out / name
        target.write_text(f"# rendered from {path.name} by `callcenter config render`; edit the inventory\n"
                          + yaml.safe_dump(tree, sort_keys=False))  # fmt: skip
        written.append(target)
    return written


@click.group("config")
def config_command() -> None:
    """Configuration tools: render an inventory into one file per process."""


@config_command.command("render")
@click.argument("inventory", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("rendered"), show_default=True)
def render_command(inventory: Path, out: Path) -> None:
    """Write one validated config file per process of INVENTORY into --out."""
    try:
        written = render_file(inventory, out)
    except CallCenterError as exc:
        raise click.ClickException(str(exc)) from exc
    for target in written:
        click.echo(str(target))
