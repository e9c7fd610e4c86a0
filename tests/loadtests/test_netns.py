"""The chaos run's network cut: a process in a site's namespace is reachable over the veth
pair, unreachable (packets dropped, no refusal) while cut, and reachable again once healed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

from loadtests.chaos.netns import create_namespaces, remove_namespaces


def _connects(host: str, port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _machine_allows_namespaces() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"ccprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return made


def test_cut_and_heal_a_site_namespace() -> None:
    namespaces = create_namespaces(["branch-x"])
    if namespaces is None:  # the run will pause instead: only if the machine really refuses
        assert not _machine_allows_namespaces(), "namespaces work here, yet the chaos run would pause"
        return
    ns = namespaces["branch-x"]
    server = subprocess.Popen(
        [*ns.placement.prefix, sys.executable, "-c",
         "import socket,time\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         f"s.bind(('{ns.site_ip}', 18080)); s.listen(16)\nwhile True:\n    c, _ = s.accept(); c.close()"],
    )
    try:
        deadline = time.monotonic() + 10
        while not _connects(ns.site_ip, 18080, 0.5):
            assert time.monotonic() < deadline, "the namespaced server never answered"
            time.sleep(0.1)
        ns.cut()
        started = time.monotonic()
        assert not _connects(ns.site_ip, 18080, 1.0)
        assert time.monotonic() - started >= 0.9  # dropped, not refused: like a pulled cable
        ns.heal()
        assert _connects(ns.site_ip, 18080, 5.0)
        assert ns.placement.etcd_host == ns.host_ip and ns.placement.host == ns.site_ip
    finally:
        server.kill()
        server.wait(timeout=10)
        remove_namespaces(namespaces)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert ns.netns not in listed
