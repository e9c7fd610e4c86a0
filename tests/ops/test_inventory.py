"""``callcenter config render``: an inventory of many branches becomes one file per process,
each validated by the schema the processes load; bad input names the file and key and writes
nothing; secrets are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from central.config import CentralSettings
from cluster.config import load_settings
from cluster.inventory import InventoryError, config_command, render
from site_node.config import SiteSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "inventory" / "example.yaml"


def test_the_40_branch_example_renders_a_file_per_process(tmp_path: Path) -> None:
    result = CliRunner().invoke(config_command, ["render", str(EXAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len([n for n in names if n.startswith("site-")]) == 40
    assert [n for n in names if n.startswith("central-")] == ["central-1.yaml", "central-2.yaml", "central-3.yaml"]
    north = yaml.safe_load((tmp_path / "site-north.yaml").read_text())
    assert north["site"]["name"] == "north" and north["site"]["migrate_on_start"] is False
    assert north["etcd"]["endpoints"] == ["10.0.0.11:2379", "10.0.0.12:2379", "10.0.0.13:2379"]


def _inventory(tmp_path: Path) -> dict[str, Any]:
    ca = tmp_path / "ca.crt"
    ca.write_text("not checked here\n")
    return {
        "defaults": {"etcd": {"endpoints": ["10.0.0.11:2379"], "ca_file": str(ca)}},
        "groups": {
            "central": {"members": {"central-1": {"http": {"port": 8000}}}},
            "site": {
                "defaults": {"migrate_on_start": False},
                "members": {"north": {"backup_sites": ["south"]}, "south": {"http": {"port": 8200}}},
            },
        },
    }


def test_rendered_files_load_as_each_process_loads_them(tmp_path: Path) -> None:
    files = render(_inventory(tmp_path))
    for name, tree in files.items():
        (tmp_path / name).write_text(yaml.safe_dump(tree))
    south = load_settings(tmp_path / "site-south.yaml", environ={}, model=SiteSettings)
    assert (south.site.name, south.site.http.port, south.site.migrate_on_start) == ("south", 8200, False)
    assert load_settings(tmp_path / "site-north.yaml", environ={}, model=SiteSettings).site.backup_sites == ["south"]
    central = load_settings(tmp_path / "central-1.yaml", environ={}, model=CentralSettings)
    assert central.central.name == "central-1" and central.etcd.ca_file == tmp_path / "ca.crt"


@pytest.mark.parametrize(
    ("change", "error_id", "words"),
    [
        (lambda inv: inv["groups"]["site"]["members"]["south"].update(http={"port": 70000}),
         "config.bad_value", ["site-south.yaml", "site.http.port"]),
        (lambda inv: inv["groups"]["site"]["members"]["north"].update(naem="x"),
         "config.unknown_key", ["site-north.yaml", "site.naem"]),
        (lambda inv: inv["defaults"].update(tokens={"secret": "s" * 40}),
         "inventory.secret_in_file", ["tokens.secret"]),
        (lambda inv: inv["groups"]["site"]["members"]["north"].update(recording_key="k" * 40),
         "inventory.secret_in_file", ["site.recording_key"]),
        (lambda inv: inv["groups"].update(pager={"members": {"p1": {}}}), "inventory.unknown_section", ["pager"]),
        (lambda inv: inv.update(hosts=[]), "inventory.bad_shape", ["hosts"]),
    ],
)  # fmt: skip
def test_bad_inventories_are_refused_and_nothing_is_written(
    tmp_path: Path, change: Any, error_id: str, words: list[str]
) -> None:
    inventory = _inventory(tmp_path)
    change(inventory)
    with pytest.raises(InventoryError) as caught:
        render(inventory)
    assert caught.value.error_id == error_id
    assert all(word in caught.value.message for word in words), caught.value.message
    path, out = tmp_path / "inventory.yaml", tmp_path / "out"
    path.write_text(yaml.safe_dump(inventory))
    result = CliRunner().invoke(config_command, ["render", str(path), "--out", str(out)])
    assert result.exit_code == 1 and error_id in result.output
    assert not out.exists() or not any(out.iterdir())
