"""Finding 11 (transport): with ``tls.cert_file``/``key_file`` every listener speaks TLS, every
advertised URL is https/wss, a client trusting the cluster's CA gets through (HTTP, CORS and a
whole call's signalling over wss), a plain-HTTP or untrusting client is refused, and SIGHUP
puts a new certificate on new handshakes without a restart. A real cluster (``demo --tls``'s
throw-away CA), real TLS clients."""

from __future__ import annotations

import signal
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from cluster.config import load_settings
from cluster.errors import ConfigError
from cluster.launcher import LocalCluster
from cluster.tls import ServerTls, client_session, client_ssl
from cluster.tls_certs import issue_server, make_demo_certs
from tests.e2e.helpers import centrals, proc, running_cluster
from webrtc_client.client import CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("tls"), sites=1, centrals=1, tls=True) as c:
        yield c


def _peer_serial(host: str, port: int, ca_file: Path) -> int:
    """The serial number of the certificate a fresh TLS handshake presents."""
    with socket.create_connection((host, port), timeout=5) as raw, \
            client_ssl(ca_file).wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def test_every_advertised_url_is_https_or_wss(cluster: LocalCluster) -> None:
    assert cluster.ca_file is not None and all(p.url.startswith("https://") for p in cluster.procs)
    async with client_session(cluster.ca_file) as http:
        async with http.get(centrals(cluster)[0] + "/v1/sites") as r:
            sites = (await r.json())["sites"]
        assert sites and all(s["url"].startswith("https://") and s["ws_url"].startswith("wss://") for s in sites)
        async with http.get(proc(cluster, "branch-north").url + "/healthz") as r:
            assert (await r.json())["url"].startswith("https://")
        # CORS: the site's https page origin is the one central lets in
        origin = sites[0]["url"]
        preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        async with http.options(centrals(cluster)[0] + "/v1/calls", headers=preflight) as r:
            assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == origin
        async with http.options(centrals(cluster)[0] + "/v1/calls",
                                headers={**preflight, "Origin": origin.replace("https:", "http:")}) as r:
            assert r.status == 403


async def test_a_call_routes_and_joins_over_wss_with_the_clusters_ca(cluster: LocalCluster) -> None:
    customer = CustomerClient(centrals(cluster), caller="+8613900000001", dialled="95589", media=False,
                              ca_file=str(cluster.ca_file))
    try:
        joined = await customer.call()
        assert customer.route["ws_url"].startswith("wss://") and joined.get("state")
        assert await customer.hangup()
    finally:
        await customer.close()


async def test_plain_http_and_untrusting_clients_are_refused(cluster: LocalCluster) -> None:
    url = centrals(cluster)[0] + "/healthz"
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientError):  # plain HTTP to the TLS port: no answer
            async with http.get(url.replace("https:", "http:")) as r:
                await r.read()
        with pytest.raises(aiohttp.ClientConnectorCertificateError):  # the system CAs do not know ours
            async with http.get(url, ssl=ssl.create_default_context()) as r:
                await r.read()


def test_sighup_puts_a_new_certificate_on_new_handshakes(cluster: LocalCluster) -> None:
    assert cluster.certs is not None
    central = next(p for p in cluster.procs if p.role == "central")
    before = _peer_serial(central.host, central.port, cluster.certs.ca_file)
    ca = x509.load_pem_x509_certificate(cluster.certs.ca_file.read_bytes())
    ca_key = load_pem_private_key((cluster.certs.ca_file.parent / "ca-key.pem").read_bytes(), None)
    staging = cluster.certs.cert_file.parent / "next"
    staging.mkdir(exist_ok=True)
    cert_file, key_file = issue_server(staging, ca, ca_key)  # type: ignore[arg-type]
    new = x509.load_pem_x509_certificate(cert_file.read_bytes()).serial_number
    key_file.replace(cluster.certs.key_file)
    cert_file.replace(cluster.certs.cert_file)
    central.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while (serial := _peer_serial(central.host, central.port, cluster.certs.ca_file)) != new:
        assert time.monotonic() < deadline, "the new certificate was never served"
        time.sleep(0.1)
    assert serial != before and central.alive  # reloaded, not restarted


def test_tls_settings_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'tls\.cert_file'"):
        load_settings(environ={"CC_TLS__CERT_FILE": str(tmp_path / "missing.pem")})
    certs = make_demo_certs(tmp_path / "tls")
    with pytest.raises(ConfigError, match=r"'tls'.*cert_file and key_file go together"):
        load_settings(environ={"CC_TLS__CERT_FILE": str(certs.cert_file)})
    assert load_settings(environ=certs.env()).tls.enabled


def test_a_bad_renewal_keeps_the_current_certificate(tmp_path: Path) -> None:
    certs = make_demo_certs(tmp_path / "tls")
    server = ServerTls(certs.cert_file, certs.key_file)
    assert server.reload() and server.reloads == 1
    certs.key_file.write_text("not a key")
    assert not server.reload() and server.reloads == 1  # logged; the live context keeps serving
