"""A whole call in the browser: the customer page calls the bank, the agent desktop serves it.

Real processes (etcd, two centrals, three sites), real Chromium with fake microphones (the
customer says 440 Hz, agents say 660 Hz), audio checked by frequency in both directions, the
call detail record read from the site's SQLite database at the end.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from central.stats.columns import TIME_COLUMNS
from cluster.launcher import LocalCluster
from site_node.storage.seed import DEMO_PIN
from tests.browser.pages import AGENT_HZ, CUSTOMER_HZ, AgentPage, CustomerPage, cdr, wait_ready_published, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

HOME = "branch-north"
CUSTOMER_NUMBER = "33259997"  # demo customer cust-00001, Greta Jansen


def test_call_from_ivr_to_agent_hold_consult_and_wrap_up(
    cluster: LocalCluster, customer_browser: Browser, agent_browser: Browser, artifacts: Path
) -> None:
    agent = AgentPage(agent_browser, cluster, HOME, artifacts, "agent1")
    second = AgentPage(agent_browser, cluster, HOME, artifacts, "agent2")
    customer = CustomerPage(customer_browser, cluster, "branch-south", artifacts, "customer")
    try:
        agent.login("north-04")
        agent.ready()
        second.login("north-06")
        agent.shot("ready")
        wait_ready_published(cluster, HOME, "credit_card")

        call_id = customer.call()
        customer.hears_sound()  # the IVR's welcome prompt
        customer.shot("ivr")
        agent.not_ready("break")  # nobody free: the caller will wait in the queue
        customer.press("2")  # "your bill and repayments": asks for the customer number
        customer.press(CUSTOMER_NUMBER + "#")
        customer.expect_status("Waiting for an agent")
        expect(customer.page.locator("#queue-info")).to_contain_text("number 1 in the queue")
        expect(customer.page.locator("#queue-info")).to_contain_text("Expected wait")
        customer.shot("queued")

        agent.click("Ready")
        agent.wait_ringing()
        pop = agent.page.locator("#screen-pop")
        for shown in ("Greta Jansen", "+491767359337", CUSTOMER_NUMBER, "credit_card", "**** **** "):
            expect(pop).to_contain_text(shown)
        expect(agent.page.locator("#ring-info")).to_contain_text("Answer within")
        agent.shot("ringing")
        agent.answer()
        customer.expect_status("Connected to Sven Silva")
        agent.hears(CUSTOMER_HZ)
        customer.hears(AGENT_HZ)
        agent.shot("talking")
        customer.shot("talking")

        agent.click("Mute")
        customer.not_hearing(AGENT_HZ)
        agent.click("Unmute")
        customer.hears(AGENT_HZ)

        agent.click("Hold")
        agent.expect_state("Call on hold")
        customer.expect_status("on hold")
        customer.not_hearing(AGENT_HZ)  # music on hold instead
        agent.shot("hold")
        agent.click("Resume")
        agent.expect_state("On a call")
        customer.expect_status("Connected to")

        second.ready()
        agent.page.get_by_label("Agent", exact=True).fill("north-06")
        agent.click("Consult")
        expect(agent.page.locator("#call-state")).to_contain_text("Consulting north-06")
        second.expect_state("On a call")
        second.hears(AGENT_HZ)  # hears the agent who consults (the caller is on hold)
        agent.shot("consulting")
        agent.click("Complete transfer")
        agent.expect_state("After-call work")
        # issue 18 (2): the customer page names the agent the call went to, not the first one
        second_name = second.page.locator("#agent-name").inner_text().split(" (")[0]
        customer.expect_status(f"Transferred: connected to {second_name}")
        second.hears(CUSTOMER_HZ)
        customer.hears(AGENT_HZ)
        second.shot("after-transfer")
        agent.wrap_up("transferred", "passed to a card specialist")

        second.click("Hang up")
        customer.expect_status("The call has ended")
        customer.shot("ended")
        second.wrap_up("resolved", "statement explained")
        second.shot("wrapped-up")

        record = wait_until(
            lambda: (r := cdr(cluster, HOME, call_id)) and r["wrap_up_end_at"] is not None and r,
            "the call detail record with its wrap-up",
        )
        assert {k: record[k] for k in TIME_COLUMNS if record[k] is None} == {}
        assert record["arrival_at"] <= record["ivr_start_at"] <= record["queued_at"] <= record["answered_at"]
        assert record["answered_at"] <= record["ended_at"] <= record["wrap_up_end_at"]
        assert record["hold_total_s"] > 0
        assert record["transfers"] >= 1
        agent.logout()
        second.logout()
    finally:
        for page in (agent, second, customer):
            page.close()


def _values(message: Any) -> list[Any]:
    if isinstance(message, dict):
        return [v for k, v in message.items() if k != "sdp" for v in _values(v)]
    if isinstance(message, list):
        return [v for item in message for v in _values(item)]
    return [message]


def _mentions_pin(frame: str) -> bool:
    try:
        values = _values(json.loads(frame))
    except ValueError:
        return DEMO_PIN in frame
    for value in values:
        if isinstance(value, str) and re.search(rf"(?<!\d){DEMO_PIN}(?!\d)", value):
            return True
        if isinstance(value, int) and not isinstance(value, bool) and str(value) == DEMO_PIN:
            return True
    return False


def test_temporary_ivr_for_the_pin_keeps_it_from_the_agent(
    cluster: LocalCluster, customer_browser: Browser, agent_browser: Browser, artifacts: Path
) -> None:
    agent = AgentPage(agent_browser, cluster, HOME, artifacts, "pin-agent")
    customer = CustomerPage(customer_browser, cluster, HOME, artifacts, "pin-customer")
    try:
        agent.login("north-08")
        agent.ready()
        wait_ready_published(cluster, HOME, "credit_card")
        customer.call()
        expect(customer.page.locator("#prompt-text")).not_to_be_empty()  # issue 18 (2): prompts as text
        customer.press("2" + CUSTOMER_NUMBER + "#")  # type-ahead; identifies the caller (the PIN is theirs)
        agent.wait_ringing()
        agent.answer()
        customer.expect_status("Connected to")

        agent.click("Verify PIN (IVR)")
        expect(agent.page.locator("#call-state")).to_have_text("Caller in the IVR")
        agent_name = agent.page.locator("#agent-name").inner_text().split(" (")[0]
        customer.expect_status(f"you will return to {agent_name}")  # issue 18 (2): not "Connected to"
        customer.type_keys(DEMO_PIN + "#")  # keyboard on the dial pad: tones + data channel
        expect(agent.page.locator("#verified")).to_have_text("Verified: yes", timeout=30_000)
        agent.shot("pin-verified")
        customer.shot("pin-entered")

        assert DEMO_PIN not in agent.text()
        assert agent.frames, "no WebSocket frames were recorded for the agent page"
        assert [f for f in agent.frames if _mentions_pin(f)] == []
        received = agent.hook("received()")
        assert any(m.get("event") == "ivr_result" for m in received)
        assert [m for m in received if _mentions_pin(json.dumps(m))] == []

        agent.hears(CUSTOMER_HZ)  # back with the very same agent
        customer.expect_status(f"Connected to {agent_name}")
        agent.click("Hang up")
        customer.expect_status("The call has ended")
        agent.wrap_up("resolved", "identity confirmed")
        agent.logout()
    finally:
        agent.close()
        customer.close()
