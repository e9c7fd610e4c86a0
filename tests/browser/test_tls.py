"""The pages over https and wss (``callcenter demo --tls``'s throw-away CA): Chromium trusts
exactly the demo's server key (``--ignore-certificate-errors-spki-list``: the SPKI pin of the
certificate the CA issued), the agent desktop logs in and goes ready over wss, the customer
page calls over https/wss, the agent answers and each hears the other. A Chromium that does
not trust it gets a certificate error instead of the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Playwright

from cluster.launcher import LocalCluster
from cluster.tls_certs import spki_sha256
from tests.browser.conftest import CHROMIUM, FLAGS, write_tone
from tests.browser.pages import AGENT_HZ, CUSTOMER_HZ, AgentPage, CustomerPage, site_url, wait_ready_published

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

HOME = "branch-north"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("tls-cluster"), base_port=0, sites=1, centrals=1, tls=True)
    try:
        local.start(timeout_s=90.0)
        with pytest.MonkeyPatch.context() as env:  # the page helpers' urllib trusts the demo CA too
            env.setenv("SSL_CERT_FILE", str(local.ca_file))
            yield local
    finally:
        local.stop()


def _trusting(pw: Playwright, cluster: LocalCluster, wav: Path) -> Browser:
    assert cluster.certs is not None
    pin = spki_sha256(cluster.certs.cert_file)
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        *FLAGS, f"--use-file-for-fake-audio-capture={wav}", f"--ignore-certificate-errors-spki-list={pin}"])


def test_a_call_between_the_pages_over_https_and_wss(
    pw: Playwright, cluster: LocalCluster, tmp_path: Path, artifacts: Path
) -> None:
    customer_browser = _trusting(pw, cluster, write_tone(tmp_path / "customer.wav", CUSTOMER_HZ))
    agent_browser = _trusting(pw, cluster, write_tone(tmp_path / "agent.wav", AGENT_HZ))
    sockets: list[str] = []
    try:
        agent = AgentPage(agent_browser, cluster, HOME, artifacts, "tls-agent")
        agent.page.on("websocket", lambda ws: sockets.append(ws.url))
        assert agent.page.evaluate("location.protocol") == "https:"
        assert agent.page.evaluate("window.isSecureContext") is True
        agent.login("north-04")
        agent.ready()
        wait_ready_published(cluster, HOME, "credit_card")
        customer = CustomerPage(customer_browser, cluster, HOME, artifacts, "tls-customer")
        customer.page.on("websocket", lambda ws: sockets.append(ws.url))
        customer.call()
        customer.hears_sound()  # the IVR's welcome, over DTLS-SRTP after a wss negotiation
        customer.press("0")
        agent.wait_ringing()
        agent.answer()
        agent.hears(CUSTOMER_HZ)
        customer.hears(AGENT_HZ)
        agent.shot("tls-talking")
        assert sockets and all(url.startswith("wss://") for url in sockets)
        customer.close()
        agent.close()
    finally:
        customer_browser.close()
        agent_browser.close()


def test_a_browser_that_does_not_trust_the_ca_gets_no_page(pw: Playwright, cluster: LocalCluster) -> None:
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    try:
        page = browser.new_page()
        with pytest.raises(Error, match="ERR_CERT"):
            page.goto(site_url(cluster, HOME) + "/agent")
    finally:
        browser.close()
