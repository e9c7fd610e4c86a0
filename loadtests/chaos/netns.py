"""Real network cuts for the chaos run: each site in its own network namespace.

Every site gets a namespace joined to the host by a veth pair on its own /30 (host side
``10.X.N.1``, site side ``10.X.N.2``). etcd also listens on the host sides, centrals and the
load reach the site at its namespace address, and the site offers that address as its ICE
candidate. Cutting a site off is ``ip link set <site side> down`` inside its namespace: packets
are dropped, nothing is closed (no RST, no FIN), exactly like a pulled cable; healing sets
the link up again.

Needs root and ``ip netns`` (iproute2). Where the machine refuses (no privileges, no
``ip``), :func:`create_namespaces` returns ``None`` and the run cuts sites off by pausing them.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

from cluster.launcher import SitePlacement

_log = logging.getLogger(__name__)


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=10)


@dataclass(frozen=True)
class SiteNamespace:
    netns: str
    host_if: str
    site_if: str
    host_ip: str
    site_ip: str

    @property
    def placement(self) -> SitePlacement:
        return SitePlacement(prefix=("ip", "netns", "exec", self.netns), host=self.site_ip, etcd_host=self.host_ip)

    def create(self) -> None:
        _ip("netns", "add", self.netns)
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.site_if)
        _ip("link", "set", self.site_if, "netns", self.netns)
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        _ip("addr", "add", f"{self.site_ip}/30", "dev", self.site_if, netns=self.netns)
        _ip("link", "set", self.site_if, "up", netns=self.netns)
        _ip("link", "set", "lo", "up", netns=self.netns)

    def cut(self) -> None:
        _ip("link", "set", self.site_if, "down", netns=self.netns)

    def heal(self) -> None:
        _ip("link", "set", self.site_if, "up", netns=self.netns)

    def remove(self) -> None:
        for args in (("link", "del", self.host_if), ("netns", "del", self.netns)):
            try:
                _ip(*args)
            except (subprocess.SubprocessError, OSError):
                pass


def create_namespaces(sites: list[str]) -> dict[str, SiteNamespace] | None:
    """One namespace per site, named after this process (runs side by side do not collide);
    ``None`` if the machine does not allow it (everything created so far is removed)."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        return None
    tag = os.getpid() % 100000
    second = 100 + tag % 100  # 10.<second>.<n>.0/30 per site
    made: dict[str, SiteNamespace] = {}
    try:
        for n, site in enumerate(sites):
            ns = SiteNamespace(f"cc{tag}-{n}", f"cch{tag}x{n}", f"ccs{tag}x{n}", f"10.{second}.{n}.1",
                               f"10.{second}.{n}.2")
            made[site] = ns
            ns.create()
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        _log.warning("network namespaces unavailable (%s); sites are cut off by pausing them", detail.strip())
        remove_namespaces(made)
        return None
    return made


def remove_namespaces(namespaces: dict[str, SiteNamespace] | None) -> None:
    for ns in (namespaces or {}).values():
        ns.remove()
