"""etcd over TLS with client certificates (production): a real etcd started with
``--client-cert-auth``, certificates made by a throw-away CA, and a real site process that
registers through it when configured with ``CC_ETCD__CA_FILE`` / ``CERT_FILE`` / ``KEY_FILE``."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cluster.config import load_settings
from cluster.errors import ConfigError, EtcdUnavailable
from cluster.etcd import Etcd, EtcdTls
from cluster.etcd_server import etcd_binary, free_port
from cluster.keys import Keyspace
from cluster.membership import Membership
from tests.fixtures_etcd import Procs

pytestmark = pytest.mark.timeout(120)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(path: Path, name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
           usage: ExtendedKeyUsageOID | None) -> tuple[x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1)))
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)  # type: ignore[list-item]
    cert = builder.sign(issuer_key, hashes.SHA256())
    (path / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (path / f"{name}-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return subject, key


@pytest.fixture(scope="module")
def tls_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``(endpoint, certificate folder)`` of a TLS-only etcd that requires client certificates."""
    certs = tmp_path_factory.mktemp("certs")
    ca = _issue(certs, "ca", None, None)
    _issue(certs, "server", ca, ExtendedKeyUsageOID.SERVER_AUTH)
    _issue(certs, "client", ca, ExtendedKeyUsageOID.CLIENT_AUTH)
    client_port, peer_port = free_port(), free_port()
    data = tmp_path_factory.mktemp("etcd-tls")
    proc = subprocess.Popen(
        [etcd_binary(), "--name", "tls0", "--data-dir", str(data),
         "--listen-client-urls", f"https://127.0.0.1:{client_port}",
         "--advertise-client-urls", f"https://127.0.0.1:{client_port}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-cluster", f"tls0=http://127.0.0.1:{peer_port}",
         "--cert-file", str(certs / "server.pem"), "--key-file", str(certs / "server-key.pem"),
         "--trusted-ca-file", str(certs / "ca.pem"), "--client-cert-auth"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield f"127.0.0.1:{client_port}", certs
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _tls(certs: Path, *, client: bool = True) -> EtcdTls:
    tls = EtcdTls.from_files(certs / "ca.pem", certs / "client.pem" if client else None,
                             certs / "client-key.pem" if client else None)
    assert tls is not None
    return tls


async def test_mutual_tls_round_trip(tls_etcd: tuple[str, Path]) -> None:
    endpoint, certs = tls_etcd
    etcd = await Etcd.connect([endpoint], timeout_s=20, tls=_tls(certs))
    try:
        await etcd.put("/tls/hello", "world")
        kv = await etcd.get("/tls/hello")
        assert kv is not None and kv.value == b"world"
        result = await etcd.txn([Etcd.absent("/tls/hello")], [Etcd.op_put("/tls/hello", "again")])
        assert not result.succeeded  # transactions (fencing, flows) work over TLS too
    finally:
        await etcd.close()


@pytest.mark.parametrize("how", ["plain", "no_client_certificate"])
async def test_a_client_without_the_right_credentials_is_refused(tls_etcd: tuple[str, Path], how: str) -> None:
    endpoint, certs = tls_etcd
    await Etcd.connect([endpoint], timeout_s=20, tls=_tls(certs))  # the server is up
    tls = None if how == "plain" else _tls(certs, client=False)
    with pytest.raises(EtcdUnavailable) as refused:
        await Etcd.connect([endpoint], timeout_s=2, tls=tls)
    assert refused.value.error_id == "etcd.unavailable" and endpoint in str(refused.value)


async def test_a_site_process_registers_through_tls(tls_etcd: tuple[str, Path], procs: Procs, tmp_path: Path) -> None:
    endpoint, certs = tls_etcd
    keys = Keyspace("/tls-site")
    env = dict(os.environ)
    env["CC_TOKENS__SECRET"] = "t" * 48
    env["CC_SITE__ACCOUNT_HASH_KEY"] = "k" * 48
    env["CC_SITE__RECORDING_KEY"] = "r" * 48
    env.update({"CC_ETCD__ENDPOINTS": endpoint, "CC_ETCD__PREFIX": keys.prefix, "CC_ETCD__LEASE_TTL_S": "2",
                "CC_ETCD__CA_FILE": str(certs / "ca.pem"), "CC_ETCD__CERT_FILE": str(certs / "client.pem"),
                "CC_ETCD__KEY_FILE": str(certs / "client-key.pem")})
    site = procs.cli("site", "--name", "north", "--port", str(free_port()), "--data-dir", str(tmp_path), env=env)
    etcd = await Etcd.connect([endpoint], timeout_s=20, tls=_tls(certs))
    try:
        membership = Membership(etcd, keys)
        async with asyncio.timeout(60):
            while "north" not in await membership.members():
                assert site.poll() is None, "the site exited"
                await asyncio.sleep(0.2)
    finally:
        await etcd.close()


def test_tls_settings_are_checked_at_start(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ConfigError) as bad:
        load_settings(environ={"CC_ETCD__CA_FILE": missing})
    assert bad.value.details["key"] == "etcd.ca_file" and "no such file" in str(bad.value)
    cert = tmp_path / "client.pem"
    cert.write_text("-")
    with pytest.raises(ConfigError) as half:
        load_settings(environ={"CC_ETCD__CA_FILE": str(cert), "CC_ETCD__CERT_FILE": str(cert)})
    assert "go together" in str(half.value)
    settings = load_settings(environ={"CC_ETCD__CA_FILE": str(cert)})
    tls = EtcdTls.from_config(settings.etcd)
    assert tls is not None and tls.ca == b"-" and tls.key is None
    assert EtcdTls.from_config(load_settings(environ={}).etcd) is None
