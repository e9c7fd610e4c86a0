"""The agent desktop and the customer page as people use them (issue 18, defects 1, 3, 4, 8, 10, 11).

One scenario on the module's cluster: a customer page without central's address (11), then a
whole call at 1366x768 with the customer on a 412x915 phone: timers from the site's figures
(4), texts derived from the state (3), hotkeys and the help overlay (8), axe-core on both
pages (8), the layouts with screenshots under pytest's tmp dir (10), the activity list past 9
lines (11) and a reload in the middle of the call that restores it (1).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from cluster.launcher import LocalCluster
from tests.browser.pages import (
    AGENT_HZ,
    CUSTOMER_HZ,
    WAIT_MS,
    AgentPage,
    CustomerPage,
    site_url,
    wait_ready_published,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

HOME = "branch-north"
CUSTOMER_NUMBER = "33259997"  # demo customer cust-00001, Greta Jansen
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 412, "height": 915}
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14.1 (npm), MPL-2.0


def serious_a11y_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE.read_text())  # evaluated by the driver: the pages' CSP forbids inline scripts
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .filter((v) => ["serious", "critical"].includes(v.impact))
            .map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }))"""
    )
    return found


def seconds_of(text: str) -> int:
    """'1:05' -> 65; the timers show minutes:seconds."""
    match = re.match(r"(\d+):(\d\d)", text.strip())
    assert match, f"not a m:ss timer: {text!r}"
    return int(match.group(1)) * 60 + int(match.group(2))


def timer(agent: AgentPage, element: str) -> int:
    return seconds_of(agent.page.locator(f"#{element}").inner_text())


def fits_width(page: Page, width: int) -> bool:
    return bool(page.evaluate(f"() => document.documentElement.scrollWidth <= {width}"))


def test_a_call_at_the_desktop_with_timers_hotkeys_reload_and_both_layouts(
    cluster: LocalCluster, customer_browser: Browser, agent_browser: Browser, tmp_path: Path
) -> None:
    # (11) no ?central=: the caller is told in words and cannot press Call
    bare = customer_browser.new_context(viewport=PHONE)
    page = bare.new_page()
    page.goto(f"{site_url(cluster, HOME)}/customer")
    expect(page.locator("#call")).to_be_disabled()
    expect(page.locator("#error")).to_contain_text("missing the bank's address")
    assert "?central=" not in page.locator("#error").inner_text()
    bare.close()

    agent = AgentPage(agent_browser, cluster, HOME, tmp_path, "desk", viewport=DESKTOP)
    customer = CustomerPage(customer_browser, cluster, HOME, tmp_path, "phone", viewport=PHONE)
    try:
        # (10) the phone layout: each label sits above its own field, nothing wider than the screen
        label = customer.page.get_by_text("Number to call").bounding_box()
        field = customer.page.locator("#dialled").bounding_box()
        assert label and field and label["y"] + label["height"] <= field["y"] + 1
        assert abs(label["x"] - field["x"]) < 2
        assert fits_width(customer.page, PHONE["width"])
        assert serious_a11y_violations(customer.page) == []

        # (3) a failed login does not leave "Logging in..."
        agent.page.get_by_label("Agent id").fill("north-04")
        agent.page.get_by_label("Password").fill("wrong password")
        agent.page.get_by_role("button", name="Log in").click()
        expect(agent.page.locator("#error")).to_be_visible(timeout=WAIT_MS)
        expect(agent.page.locator("#status")).not_to_contain_text("Logging in")
        agent.login("north-04")
        expect(agent.page.locator("#status")).to_contain_text("Not ready")

        # (8) the help overlay and a hotkey for Ready; (3) the text follows the state
        agent.page.keyboard.press("Alt+K")
        expect(agent.page.locator("#help-dialog")).to_be_visible()
        expect(agent.page.locator("#help-dialog")).to_contain_text("Alt+A")
        agent.page.keyboard.press("Escape")
        expect(agent.page.locator("#help-dialog")).to_be_hidden()
        agent.page.keyboard.press("Alt+R")
        agent.expect_state("Ready")
        expect(agent.page.locator("#status")).to_have_text("Ready: waiting for a call.")
        # (4) time in state counts on from the site's figure
        wait_until(lambda: timer(agent, "time-in-state") >= 2, "time in state to count")
        wait_ready_published(cluster, HOME, "credit_card")

        customer.call()
        customer.press("2" + CUSTOMER_NUMBER + "#")
        agent.wait_ringing()
        expect(agent.page.locator("#answer")).to_be_focused()
        # (3) a double click answers once and leaves no error behind
        agent.page.locator("#answer").dblclick()
        agent.expect_state("On a call")
        expect(agent.page.locator("#error")).to_be_hidden()
        customer.expect_status("Connected to")
        agent.hears(CUSTOMER_HZ)

        # (4) talk time, and hold per hold and in total (hotkey Alt+O holds and resumes)
        wait_until(lambda: timer(agent, "talk-time") >= 1, "talk time to count")
        agent.page.keyboard.press("Alt+O")
        agent.expect_state("Call on hold")
        wait_until(lambda: timer(agent, "hold-time") >= 2, "this hold to count")
        agent.page.keyboard.press("Alt+O")
        agent.expect_state("On a call")
        expect(agent.page.locator("#hold-total")).to_contain_text("(1 hold)")
        assert seconds_of(agent.page.locator("#hold-total").inner_text()) >= 2
        assert timer(agent, "talk-time") >= 3  # the hold is part of the talk time

        # (11) the activity list past 9 lines keeps its numbers visible (Alt+M mutes/unmutes)
        for _ in range(6):
            agent.page.keyboard.press("Alt+M")
        wait_until(lambda: agent.page.locator("#log li").count() >= 10, "ten activity lines")
        room = agent.page.evaluate(
            """() => {
              const ol = document.getElementById("log"), li = ol.querySelector("li");
              const ctx = document.createElement("canvas").getContext("2d");
              ctx.font = getComputedStyle(li).font;
              return li.getBoundingClientRect().left - ol.getBoundingClientRect().left - ctx.measureText("30.").width;
            }"""
        )
        assert room > 0, f"the activity numbers are clipped by {-room:.1f} px"
        expect(agent.page.locator("#mute")).to_have_text("Mute")

        # (10) the desktop at 1366x768: state bar and call controls on the first screen
        assert fits_width(agent.page, DESKTOP["width"])
        for element in ("#timers", "#hangup", "#hold", "#pop-title"):
            box = agent.page.locator(element).bounding_box()
            assert box and box["y"] + box["height"] <= DESKTOP["height"], f"{element} is below the first screen"
        agent.page.screenshot(path=str(tmp_path / "desktop-1366x768.png"))
        customer.page.screenshot(path=str(tmp_path / "customer-412x915.png"), full_page=True)
        assert (tmp_path / "desktop-1366x768.png").stat().st_size > 0
        assert serious_a11y_violations(agent.page) == []

        # (1) a reload mid-call restores the call without a password
        talked = timer(agent, "talk-time")
        storage = agent.page.evaluate("() => [sessionStorage.length, localStorage.length]")
        assert storage == [1, 0]
        agent.page.reload()
        agent.expect_state("On a call")
        expect(agent.page.locator("#login-panel")).to_be_hidden()
        wait_until(lambda: agent.hook("state()")["media"], "the softphone to re-offer")
        agent.hears(CUSTOMER_HZ)
        customer.hears(AGENT_HZ)
        expect(agent.page.locator("#screen-pop")).to_contain_text("Greta Jansen")
        assert timer(agent, "talk-time") >= talked

        # (4) the wrap-up countdown comes from the site (30 s by default, then "no code")
        agent.page.keyboard.press("Alt+H")
        agent.expect_state("After-call work")
        expect(agent.page.locator("#wrap-info")).to_contain_text('"no code"')
        first = int(agent.page.locator("#wrap-left").inner_text().split()[0])
        assert 0 < first <= 30
        wait_until(
            lambda: int(agent.page.locator("#wrap-left").inner_text().split()[0]) < first, "the countdown to run"
        )
        agent.wrap_up("resolved", "desk checks")
        agent.expect_state("Ready")  # back to the state before the call, and the text agrees
        expect(agent.page.locator("#status")).to_have_text("Ready: waiting for a call.")
        agent.logout()
        assert agent.page.evaluate("() => sessionStorage.length") == 0
    finally:
        agent.close()
        customer.close()
