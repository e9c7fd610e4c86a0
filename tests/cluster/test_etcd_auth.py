"""etcd username/password authentication against a real etcd with ``auth enable``: a user
whose role grants the cluster's prefix logs in with ``etcd.user`` / ``etcd.password``, keeps
its token fresh past etcd's token TTL (2 s here), and runs a leased session and membership;
a client without credentials or with a wrong password is refused; a user without a password
does not start; a real site process registers through it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.config import load_settings, require_etcd_password
from cluster.errors import ConfigError, EtcdUnavailable
from cluster.etcd import Etcd, EtcdAuth, EtcdAuthFailed, Session
from cluster.etcd_server import etcd_binary, free_port
from cluster.keys import Keyspace
from cluster.membership import Membership
from tests.fixtures_etcd import Procs

pytestmark = pytest.mark.timeout(120)

PREFIX = "/cc-auth"
TOKEN_TTL_S = 2


def _ctl(endpoint: str, *args: str, user: str | None = None) -> None:
    auth = ["--user", user] if user else []
    subprocess.run(["etcdctl", "--endpoints", endpoint, *auth, *args], check=True, capture_output=True,
                   env={**os.environ, "ETCDCTL_API": "3"}, timeout=20)


@pytest.fixture(scope="module")
def auth_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint of an etcd with auth enabled: root, and user ``cc`` with read/write on PREFIX."""
    client_port, peer_port = free_port(), free_port()
    proc = subprocess.Popen(
        [etcd_binary(), "--name", "auth0", "--data-dir", str(tmp_path_factory.mktemp("etcd-auth")),
         "--listen-client-urls", f"http://127.0.0.1:{client_port}",
         "--advertise-client-urls", f"http://127.0.0.1:{client_port}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-cluster", f"auth0=http://127.0.0.1:{peer_port}", "--auth-token-ttl", str(TOKEN_TTL_S)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"127.0.0.1:{client_port}"
    try:
        for _ in range(100):
            try:
                _ctl(endpoint, "endpoint", "health")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.1)
        _ctl(endpoint, "user", "add", "root:root-secret-pw")
        _ctl(endpoint, "role", "add", "callcenter")
        _ctl(endpoint, "role", "grant-permission", "callcenter", "--prefix=true", "readwrite", PREFIX + "/")
        _ctl(endpoint, "user", "add", "cc:cc-secret-password")
        _ctl(endpoint, "user", "grant-role", "cc", "callcenter")
        _ctl(endpoint, "auth", "enable")
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_user_logs_in_and_keeps_its_token_past_the_ttl(auth_etcd: str) -> None:
    etcd = await Etcd.connect([auth_etcd], timeout_s=10, auth=EtcdAuth("cc", "cc-secret-password", refresh_s=1.0))
    keys = Keyspace(PREFIX)
    try:
        await etcd.put(f"{PREFIX}/probe", "1")
        session = await Session(etcd, 2).start()
        registration = await Membership(etcd, keys).register(session, "branch-auth", {"url": "http://x"})
        await asyncio.sleep(3 * TOKEN_TTL_S)  # idle past the token's TTL: only the renewal keeps it valid
        assert (await etcd.get(f"{PREFIX}/probe")) is not None
        assert not session.lost.is_set()  # the lease's keep-alive went through all along
        listed, _ = await etcd.get_prefix(keys.prefix + "/")
        assert any(kv.key.endswith("branch-auth") for kv in listed)
        with pytest.raises(EtcdUnavailable):  # the role grants the prefix only
            await etcd.put("/elsewhere", "x")
        await registration.stop(leave=True)
        await session.close()
    finally:
        await etcd.close()


async def test_a_client_without_credentials_is_refused(auth_etcd: str) -> None:
    with pytest.raises(EtcdAuthFailed, match="requires authentication") as caught:
        await Etcd.connect([auth_etcd], timeout_s=10)
    assert caught.value.error_id == "etcd.auth_failed"


async def test_a_wrong_password_is_refused_at_once(auth_etcd: str) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(EtcdAuthFailed, match=r"etcd\.password"):
        await Etcd.connect([auth_etcd], timeout_s=30, auth=EtcdAuth("cc", "not-the-password"))
    assert loop.time() - started < 5


def test_a_user_without_a_password_does_not_start() -> None:
    settings = load_settings(environ={"CC_ETCD__USER": "cc"})
    with pytest.raises(ConfigError, match=r"etcd\.password") as caught:
        require_etcd_password(settings.etcd)
    assert caught.value.error_id == "config.missing_secret"
    configured = load_settings(environ={"CC_ETCD__USER": "cc", "CC_ETCD__PASSWORD": "pw"})
    assert EtcdAuth.from_config(configured.etcd) == EtcdAuth("cc", "pw", 240.0)


async def test_a_site_process_registers_as_the_configured_user(
    auth_etcd: str, procs: Procs, proc_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**proc_env, "CC_ETCD__ENDPOINTS": auth_etcd, "CC_ETCD__PREFIX": PREFIX, "CC_ETCD__USER": "cc",
           "CC_ETCD__PASSWORD": "cc-secret-password"}
    procs.cli("site", "--name", "branch-user", "--port", str(free_port()), "--data-dir", str(tmp_path), env=env)
    etcd = await Etcd.connect([auth_etcd], timeout_s=10, auth=EtcdAuth("cc", "cc-secret-password"))
    try:
        for _ in range(300):
            if await etcd.get(Keyspace(PREFIX).site("branch-user")) is not None:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the site never registered through the authenticated client")
    finally:
        await etcd.close()
