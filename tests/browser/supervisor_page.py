"""A driver for the supervisor console (Playwright, sync API), beside the pages in pages.py."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Locator, expect

from cluster.launcher import LocalCluster
from tests.browser.pages import WAIT_MS, BrowserPage, centrals, site_url, wait_until

_PROBE = """(hz) => {
  if (!window.__probe) {
    const audio = document.getElementById("remote");
    if (!audio || !audio.srcObject) return null;
    const ctx = new AudioContext({ sampleRate: 48000 });
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(audio.srcObject).connect(analyser);
    window.__probe = { ctx, analyser, stream: audio.srcObject };
  }
  const { ctx, analyser } = window.__probe;
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  const i = Math.round((hz * analyser.fftSize) / ctx.sampleRate);
  return Math.max(bins[i - 1], bins[i], bins[i + 1]);
}"""


def energy_at(page: BrowserPage, hz: float) -> float:
    """The dB of the FFT bin nearest ``hz`` in what ``page`` plays (its ``<audio id=remote>``),
    measured by a probe of the test's own, so any page can be checked for several tones at once."""
    value = page.page.evaluate(_PROBE, hz)
    return float("-inf") if value is None else float(value)


def hears_both(page: BrowserPage, a_hz: float, b_hz: float, *, quiet_hz: float, timeout_s: float = 15.0) -> None:
    """Until both tones stand out (20 dB over a frequency nobody says) in 4 polls in a row."""
    streak = 0

    def loud() -> bool:
        nonlocal streak
        floor = energy_at(page, quiet_hz)
        ok = energy_at(page, a_hz) > floor + 20 and energy_at(page, b_hz) > floor + 20
        streak = streak + 1 if ok else 0
        return streak >= 4

    wait_until(loud, f"{page.name} to hear {a_hz} Hz and {b_hz} Hz", timeout_s=timeout_s)


class SupervisorPage(BrowserPage):
    def __init__(self, browser: Browser, cluster: LocalCluster, site: str, artifacts: Path, name: str) -> None:
        url = f"{site_url(cluster, site)}/supervisor?central={','.join(centrals(cluster))}"
        super().__init__(browser, url, artifacts, name)

    def login(self, agent_id: str, password: str = "demo") -> None:
        self.page.get_by_label("Agent id").fill(agent_id)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()

    def open_console(self, agent_id: str) -> None:
        self.login(agent_id)
        expect(self.page.locator("#console")).to_be_visible(timeout=WAIT_MS)
        wait_until(lambda: self.hook("media()") or self.error(), f"{self.name}'s softphone to connect")
        assert not self.error(), f"the console shows: {self.error()}"

    def row(self, agent_id: str) -> Locator:
        return self.page.locator(f'#agents tr[data-agent="{agent_id}"]')

    def act(self, label: str, agent_id: str) -> None:
        self.page.get_by_role("button", name=f"{label} {agent_id}", exact=True).click()
        if self.error():
            raise AssertionError(f"{self.name}: {label} {agent_id} failed: {self.error()}")
