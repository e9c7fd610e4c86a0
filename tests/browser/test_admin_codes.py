"""The desktop offers the administered not-ready and wrap-up codes (issue 19): real Chromium
against a real aiohttp server with the site's pages and its ``GET /v1/codes`` handler."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.sync_api import Playwright

from cluster.clock import SYSTEM_CLOCK
from site_node.admin import AdminSync
from site_node.audit import AuditTrail
from tests.browser.conftest import CHROMIUM, FLAGS
from webrtc_client.web import install_pages

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


def _unused() -> object:
    raise AssertionError("not used by GET /v1/codes")


@pytest.fixture(scope="module")
def site_pages() -> Iterator[str]:
    """The pages and ``/v1/codes`` of a site whose code lists an administrator changed."""
    admin = AdminSync(_unused, _unused, _unused, _unused, AuditTrail(_unused, SYSTEM_CLOCK), site="north")  # type: ignore[arg-type]
    admin.codes = {"not_ready": ["break", "coaching"], "wrap_up": ["resolved", "fraud_suspected"]}
    admin.applied = {("codes", "not_ready"): 2, ("codes", "wrap_up"): 2}
    app = web.Application()
    install_pages(app)
    admin.install(app, lambda handler: handler)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    started: list[int] = []
    up = threading.Event()

    def serve() -> None:  # the server's own loop, in its own thread (the test drives Chromium synchronously)
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        started.append(runner.addresses[0][1])
        up.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert up.wait(10)
    try:
        yield f"http://127.0.0.1:{started[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_the_desktop_lists_the_codes_the_administrator_set(pw: Playwright, site_pages: str, tmp_path: Path) -> None:
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    try:
        page = browser.new_page()
        page.goto(site_pages + "/agent")
        loaded = page.evaluate("async () => (await import('/static/desk/codes.js')).loadCodes(location.origin)")
        assert loaded is True
        options = "(id) => [...document.getElementById(id).options].map((o) => [o.value, o.textContent])"
        assert page.evaluate(options, "not-ready-reason") == [["break", "Break"], ["coaching", "coaching"]]
        assert page.evaluate(options, "wrap-code") == [["resolved", "Resolved"], ["fraud_suspected", "fraud suspected"]]
    finally:
        browser.close()
