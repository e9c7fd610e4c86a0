"""Drivers for the agent desktop and the customer page (Playwright, sync API).

Each wrapper opens its page in a fresh browser context, records every WebSocket frame the
page receives (Playwright's own frame events, independent of the page's code) and offers the
steps a person would take, plus what the page hears through its test hook.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, WebSocket, expect

from cluster.launcher import LocalCluster

WAIT_MS = 20_000
CUSTOMER_HZ = 440.0  # the customer's browser "says" this (its fake microphone's WAV file)
AGENT_HZ = 660.0  # and the agents' browser this


def centrals(cluster: LocalCluster) -> list[str]:
    return [p.url for p in cluster.procs if p.role == "central" and p.alive]


def site_url(cluster: LocalCluster, name: str) -> str:
    return next(p.url for p in cluster.procs if p.name == name)


def wait_until(check: Callable[[], Any], what: str, *, timeout_s: float = 20.0, every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every_s)


def wait_ready_published(cluster: LocalCluster, site: str, skill: str, *, timeout_s: float = 15.0) -> None:
    """Until central's view of ``site`` shows a ready agent for ``skill`` (routing uses it)."""

    def ready() -> bool:
        with urllib.request.urlopen(centrals(cluster)[0] + "/v1/sites", timeout=2) as response:
            sites = {s["name"]: s for s in json.loads(response.read())["sites"]}
        return bool(sites.get(site, {}).get("skills", {}).get(skill, {}).get("ready"))

    wait_until(ready, f"a ready {skill} agent at {site} in central's view", timeout_s=timeout_s, every_s=0.2)


def cdr(cluster: LocalCluster, site: str, call_id: str) -> dict[str, Any] | None:
    db = Path(cluster.base_dir) / "data" / f"{site}.db"
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
    return None if row is None else dict(row)


class BrowserPage:
    role = ""

    def __init__(
        self, browser: Browser, url: str, artifacts: Path, name: str, viewport: ViewportSize | None = None
    ) -> None:
        self.context = browser.new_context(viewport=viewport) if viewport else browser.new_context()
        self.page: Page = self.context.new_page()
        self.frames: list[str] = []
        self.console: list[str] = []
        self.artifacts = artifacts
        self.name = name
        self.page.on("websocket", self._socket)
        self.page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        self.page.on("pageerror", lambda err: self.console.append(f"pageerror: {err}"))
        self.page.goto(url)

    def _socket(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.frames.append(payload if isinstance(payload, str) else ""))

    def shot(self, moment: str) -> None:
        self.page.screenshot(path=str(self.artifacts / f"{self.name}-{moment}.png"), full_page=True)

    def hook(self, expression: str) -> Any:
        return self.page.evaluate(f"() => window.__cc.{expression}")

    def _peaks(self, match: Callable[[float | None], bool], what: str, timeout_s: float, hits: int) -> None:
        streak, last = 0, None
        deadline = time.monotonic() + timeout_s
        while streak < hits:
            last = self.hook("dominantFrequency()")
            streak = streak + 1 if match(last) else 0
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {what} (last peak: {last} Hz)")
            time.sleep(0.1)

    def hears(self, freq: float, *, timeout_s: float = 15.0, hits: int = 4) -> None:
        """Until ``freq`` is the loudest bin of what the page hears in ``hits`` polls in a row."""
        self._peaks(lambda f: f is not None and abs(f - freq) < 15, f"does not hear {freq} Hz", timeout_s, hits)

    def not_hearing(self, freq: float, *, timeout_s: float = 10.0, hits: int = 4) -> None:
        self._peaks(lambda f: f is None or abs(f - freq) >= 15, f"still hears {freq} Hz", timeout_s, hits)

    def text(self) -> str:
        return self.page.inner_text("body")

    def error(self) -> str:
        box = self.page.locator("#error")
        return box.inner_text() if box.is_visible() else ""

    def close(self) -> None:
        self.context.close()


class AgentPage(BrowserPage):
    def __init__(
        self,
        browser: Browser,
        cluster: LocalCluster,
        site: str,
        artifacts: Path,
        name: str,
        viewport: ViewportSize | None = None,
    ) -> None:
        url = f"{site_url(cluster, site)}/agent?central={','.join(centrals(cluster))}"
        super().__init__(browser, url, artifacts, name, viewport)

    def login(self, agent_id: str, password: str = "demo") -> None:
        self.page.get_by_label("Agent id").fill(agent_id)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.expect_state("Not ready")
        wait_until(lambda: self.hook("state()")["media"], f"{self.name}'s softphone to connect")

    def expect_state(self, label: str, timeout_ms: int = WAIT_MS) -> None:
        expect(self.page.locator("#agent-state")).to_have_text(label, timeout=timeout_ms)

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()
        if self.error():
            raise AssertionError(f"{self.name}: clicking {name!r} failed: {self.error()}")

    def ready(self) -> None:
        self.click("Ready")
        self.expect_state("Ready")

    def not_ready(self, reason: str) -> None:
        self.page.get_by_label("Reason", exact=True).select_option(reason)
        self.click("Not ready")
        self.expect_state("Not ready")
        expect(self.page.locator("#agent-reason")).to_have_text(f"({reason})")

    def wait_ringing(self) -> None:
        expect(self.page.locator("#ring-panel")).to_be_visible(timeout=WAIT_MS)

    def answer(self) -> None:
        self.click("Answer")
        self.expect_state("On a call")

    def wrap_up(self, code: str, notes: str) -> None:
        expect(self.page.locator("#wrap-panel")).to_be_visible(timeout=WAIT_MS)
        self.page.get_by_label("Wrap-up code").select_option(code)
        self.page.get_by_label("Notes").fill(notes)
        self.click("Finish wrap-up")
        expect(self.page.locator("#wrap-panel")).to_be_hidden(timeout=WAIT_MS)

    def logout(self) -> None:
        self.click("Log out")
        expect(self.page.locator("#login-panel")).to_be_visible(timeout=WAIT_MS)


class CustomerPage(BrowserPage):
    def __init__(
        self,
        browser: Browser,
        cluster: LocalCluster,
        site: str,
        artifacts: Path,
        name: str,
        viewport: ViewportSize | None = None,
    ) -> None:
        url = f"{site_url(cluster, site)}/customer?central={','.join(centrals(cluster))}"
        super().__init__(browser, url, artifacts, name, viewport)

    def call(self, dialled: str = "95589") -> str:
        self.page.get_by_label("Number to call").fill(dialled)
        self.page.get_by_role("button", name="Call", exact=True).click()
        wait_until(lambda: self.hook("state()")["media"] or self.error(), "the customer's audio to connect")
        assert not self.error(), f"the customer page shows: {self.error()}"
        return str(self.hook("state()")["callId"])

    def hears_sound(self, *, timeout_s: float = 15.0) -> None:
        wait_until(lambda: self.hook("level()") > 0.01, "sound (a prompt) at the customer", timeout_s=timeout_s)

    def press(self, keys: str) -> None:
        """Click the keys on the dial pad (each goes as a tone and on the data channel)."""
        for key in keys:
            self.page.locator(f'#dialpad button[data-key="{key}"]').click()

    def type_keys(self, keys: str) -> None:
        """Type the keys with the keyboard while the dial pad has focus."""
        self.page.locator("#dialpad").focus()
        for key in keys:
            self.page.keyboard.press(key)

    def expect_status(self, text: str, timeout_ms: int = WAIT_MS) -> None:
        expect(self.page.locator("#call-state")).to_contain_text(text, timeout=timeout_ms)
