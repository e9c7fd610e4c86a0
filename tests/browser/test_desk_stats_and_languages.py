"""Queue statistics on the desk and the two languages (issue 18, defects 7 and 9).

One scenario on the module's cluster: a caller waits in the credit-card queue while the agent
is not ready (the desk's statistics panel shows the waiting call and a longest wait that counts
on), the agent takes and finishes the call (handled today 1, an average handle time); the
customer's browser speaks Chinese (its page follows navigator.language), the agent switches
to Chinese with the visible switch (state bar, status text, main controls, the choice kept in
localStorage across a reload), and central's wallboard follows a Chinese browser too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from cluster.launcher import LocalCluster
from tests.browser.pages import (
    WAIT_MS,
    AgentPage,
    BrowserPage,
    centrals,
    site_url,
    wait_ready_published,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

HOME = "branch-north"
CUSTOMER_NUMBER = "33259997"  # demo customer cust-00001, Greta Jansen
LATIN = re.compile(r"[A-Za-z]")
# The desk's main controls and labels: in Chinese, none may keep an English word.
MAIN_CONTROLS = (
    "state-title", "ready", "not-ready", "logout", "help-open", "answer", "decline", "ring-title",
    "call-title", "hangup", "mute", "hold", "resume", "transfer", "consult", "consult-complete",
    "consult-cancel", "conference", "wrap-title", "wrap-done", "pop-title", "stats-title", "activity-title",
)  # fmt: skip


class ChineseCustomer(BrowserPage):
    """The customer page in a browser whose language is Chinese (Simplified)."""

    def __init__(self, browser: Browser, cluster: LocalCluster, artifacts: Path) -> None:
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 412, "height": 915})
        self.page: Page = self.context.new_page()
        self.frames: list[str] = []
        self.console: list[str] = []
        self.artifacts, self.name = artifacts, "zh-customer"
        self.page.on("pageerror", lambda err: self.console.append(f"pageerror: {err}"))
        self.page.goto(f"{site_url(cluster, HOME)}/customer?central={','.join(centrals(cluster))}")

    def call(self) -> None:
        self.page.locator("#call").click()
        wait_until(lambda: self.hook("state()")["media"] or self.error(), "the customer's audio to connect")
        assert not self.error(), self.error()

    def press(self, keys: str) -> None:
        for key in keys:
            self.page.locator(f'#dialpad button[data-key="{key}"]').click()


def waiting_in_stats(agent: AgentPage) -> str:
    cells = agent.page.locator('#queue-stats tr[data-queue="credit_card"] td')
    return cells.first.inner_text() if cells.count() else ""


def longest_wait_s(agent: AgentPage) -> float:
    text = agent.page.locator('#queue-stats tr[data-queue="credit_card"] td[data-key="longest_wait_s"]').inner_text()
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    return numbers[0] * 60 + numbers[1] if len(numbers) == 2 else float(numbers[0]) if numbers else -1


def test_queue_statistics_and_chinese_on_desk_customer_page_and_wallboard(
    cluster: LocalCluster, customer_browser: Browser, agent_browser: Browser, tmp_path: Path
) -> None:
    agent = AgentPage(agent_browser, cluster, HOME, tmp_path, "stats-desk", viewport={"width": 1366, "height": 768})
    customer = ChineseCustomer(customer_browser, cluster, tmp_path)
    try:
        # (9) the customer's browser is Chinese: the page follows navigator.language
        expect(customer.page.locator("label[for=dialled]")).to_have_text("拨打号码")
        expect(customer.page.locator("#status")).to_have_text("可以拨打。")
        expect(customer.page.locator("#call")).to_have_text("拨打")

        # (7) the statistics panel: before any call, nothing handled
        agent.login("north-04")
        expect(agent.page.locator("#stats-title")).to_have_text("Queues and my day")
        expect(agent.page.locator("#stats-handled")).to_have_text("0", timeout=WAIT_MS)
        expect(agent.page.locator("#stats-aht")).to_have_text("-")
        agent.ready()
        wait_ready_published(cluster, HOME, "credit_card")

        customer.call()
        agent.not_ready("break")  # nobody free: the caller waits in the queue
        customer.press("2" + CUSTOMER_NUMBER + "#")
        expect(customer.page.locator("#call-state")).to_have_text("正在等待坐席。", timeout=WAIT_MS)
        expect(customer.page.locator("#queue-info")).to_contain_text("您在队列中排第 1 位")

        # (7) the waiting call and its longest wait reach the desk by push, and the wait counts on
        wait_until(lambda: waiting_in_stats(agent) == "1", "the desk to show one waiting call")
        first = longest_wait_s(agent)
        wait_until(lambda: longest_wait_s(agent) >= first + 2, "the longest wait to count on")

        agent.click("Ready")
        agent.wait_ringing()
        agent.answer()
        wait_until(lambda: waiting_in_stats(agent) == "0", "the queue to empty on the desk")

        # (6) the consulted agent gets the same full pop: customer, masked accounts, IVR data
        second = AgentPage(agent_browser, cluster, HOME, tmp_path, "consulted")
        second.login("north-06")
        second.ready()
        agent.page.locator("#consult-target").fill("north-06")
        agent.click("Consult")
        second.expect_state("On a call")
        pop = second.page.locator("#screen-pop")
        for shown in ("Greta Jansen", CUSTOMER_NUMBER, "**** **** ", "credit_card"):
            expect(pop).to_contain_text(shown)
        # the caller's phone number has 12 digits; an account number more
        assert not re.search(r"\d{13,}", pop.inner_text()), "a full account number on the consulted desk"
        agent.click("Cancel consult")
        second.close()
        expect(customer.page.locator("#call-state")).to_contain_text("正在与", timeout=WAIT_MS)
        agent.click("Hang up")
        agent.wrap_up("resolved", "stats check")
        agent.expect_state("Ready")
        expect(agent.page.locator("#stats-handled")).to_have_text("1", timeout=WAIT_MS)
        expect(agent.page.locator("#stats-aht")).to_contain_text(re.compile(r"\d+ sec"))

        # (9) the agent switches to Chinese: state bar, status, panels, main controls
        agent.page.locator("#lang-switch").select_option("zh")
        agent.expect_state("就绪")
        expect(agent.page.locator("#status")).to_have_text("就绪：等待来电。")
        expect(agent.page.locator("#stats-title")).to_have_text("队列与今日业绩")
        expect(agent.page.locator("#stats-aht")).to_contain_text("秒")
        expect(agent.page.locator("html")).to_have_attribute("lang", "zh-Hans")
        leftovers = {
            element: text
            for element in MAIN_CONTROLS
            if LATIN.search(text := agent.page.locator(f"#{element}").text_content() or "")
        }
        assert leftovers == {}, f"English left in Chinese: {leftovers}"
        timers = agent.page.locator("#timers dt").all_text_contents()
        assert timers and not any(LATIN.search(t) for t in timers), timers
        agent.page.screenshot(path=str(tmp_path / "desktop-zh-1366x768.png"))

        # the choice is remembered (localStorage), the session is not (sessionStorage only)
        assert agent.page.evaluate("() => localStorage.getItem('cc.lang')") == "zh"
        agent.page.locator("#logout").click()
        expect(agent.page.locator("#login-panel")).to_be_visible(timeout=WAIT_MS)
        agent.page.reload()
        expect(agent.page.locator("#login-title")).to_have_text("登录")
        expect(agent.page.locator("#status")).to_have_text("未登录。")

        # (9) central's wallboard follows a Chinese browser as well
        board = customer_browser.new_context(locale="zh-CN")
        page = board.new_page()
        page.goto(f"{centrals(cluster)[0]}/wallboard")
        expect(page.locator("#total-title")).to_have_text("集群合计")
        expect(page.locator("#total dt").first).to_have_text("排队来电", timeout=WAIT_MS)
        expect(page.locator("#connection")).to_have_text("实时", timeout=WAIT_MS)
        board.close()
        assert [line for line in agent.console + customer.console if "pageerror" in line] == []
    finally:
        agent.close()
        customer.close()
