"""A site fails during a browser call: both pages carry on at the backup site.

The agent desktop (served by, and logged in at, branch-north) and the customer page (served by
branch-east) talk through branch-north; branch-north is SIGKILLed. The customer page asks
central where its call is now, the agent desktop re-attaches with its token (no password), and
the call is connected again at branch-south (north's backup) with audio both ways.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from cluster.launcher import LocalCluster
from tests.browser.pages import AGENT_HZ, CUSTOMER_HZ, AgentPage, CustomerPage, wait_ready_published, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

HOME, BACKUP = "branch-north", "branch-south"


def test_both_pages_reconnect_at_the_backup_site(
    cluster: LocalCluster, customer_browser: Browser, agent_browser: Browser, artifacts: Path
) -> None:
    agent = AgentPage(agent_browser, cluster, HOME, artifacts, "failover-agent")
    customer = CustomerPage(customer_browser, cluster, "branch-east", artifacts, "failover-customer")
    try:
        agent.login("north-04")
        agent.ready()
        wait_ready_published(cluster, HOME, "credit_card")
        customer.call()
        customer.press("0")  # type-ahead: the menu takes it as "an agent"
        agent.wait_ringing()
        agent.answer()
        customer.expect_status("Connected to Sven Silva")
        assert customer.hook("state()")["site"] == HOME
        agent.hears(CUSTOMER_HZ)
        customer.hears(AGENT_HZ)

        north = next(p for p in cluster.procs if p.name == HOME)
        north.signal(signal.SIGKILL)
        assert north.process is not None
        north.process.wait(timeout=10)

        wait_until(lambda: customer.hook("state()")["site"] == BACKUP, "the customer page at the backup site")
        wait_until(lambda: agent.hook("state()")["site"] == BACKUP, "the agent desktop at the backup site")
        customer.expect_status("Connected to Sven Silva")
        agent.expect_state("On a call")
        expect(agent.page.locator("#agent-site")).to_have_text(BACKUP)
        expect(agent.page.locator("#call-panel")).to_be_visible()
        agent.hears(CUSTOMER_HZ)
        customer.hears(AGENT_HZ)
        agent.shot("after-failover")
        customer.shot("after-failover")
        assert agent.page.locator("#login-panel").is_hidden()  # no new log-in was needed
        joins = [m for m in customer.hook("received()") if m["type"] == "joined"]
        assert [j["failovers"] for j in joins] == [0, 1]
        assert len([m for m in agent.hook("received()") if m["type"] == "joined"]) == 2

        agent.click("Hang up")
        customer.expect_status("The call has ended")
        agent.wrap_up("resolved", "call survived a site failure")
    finally:
        agent.close()
        customer.close()
