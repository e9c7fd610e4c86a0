"""Fixtures for the browser tests: a real local cluster and Debian's Chromium under Playwright.

Each test module gets its own cluster (``LocalCluster`` in a tmp dir, free ports). Chromium
reads a WAV file as its microphone, so the customer's browser "says" 440 Hz and the agents'
browser 660 Hz; the pages' test hook (``window.__cc.dominantFrequency()``) tells what each
page hears. Screenshots go to ``test-artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from cluster.launcher import LocalCluster
from tests.browser.pages import AGENT_HZ, CUSTOMER_HZ

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]


def write_tone(path: Path, freq: float, *, seconds: float = 10.0, rate: int = 48_000) -> Path:
    """A mono 16-bit WAV of a steady sine (Chromium loops it as the microphone)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), base_port=0)
    try:
        local.start(timeout_s=90.0)
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


def _launch(pw: Playwright, wav: Path) -> Browser:
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*FLAGS, f"--use-file-for-fake-audio-capture={wav}"],
    )


@pytest.fixture(scope="module")
def customer_browser(pw: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    browser = _launch(pw, write_tone(tmp_path_factory.mktemp("wav") / "customer.wav", CUSTOMER_HZ))
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def agent_browser(pw: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    browser = _launch(pw, write_tone(tmp_path_factory.mktemp("wav") / "agent.wav", AGENT_HZ))
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
