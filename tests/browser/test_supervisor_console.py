"""The supervisor console in Chromium (issue 19): a team leader sees their talking agent pushed
within a second, listens in through the console's own softphone and hears both the caller and
the agent (by frequency) while the caller does not hear the supervisor, whispers (the agent
hears the leader, the caller does not), barges (the caller hears the leader too), forces another agent of
the team not ready, messages the talking agent's desktop, and switches to central's view of every
site; every tap and action is in the site's audit trail; a plain agent cannot open the console.

One site, one central; the caller says 440 Hz, the agents 660 Hz, the supervisor 880 Hz.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

from cluster.launcher import LocalCluster
from tests.browser.conftest import _launch, write_tone
from tests.browser.pages import AGENT_HZ, CUSTOMER_HZ, AgentPage, CustomerPage, wait_ready_published, wait_until
from tests.browser.supervisor_page import SupervisorPage, hears_both
from tests.e2e.helpers import running_cluster

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

SITE = "branch-north"
SUPERVISOR_HZ = 880.0
QUIET_HZ = 1500.0  # nobody says this: the noise floor the tones are compared with


AUDITED = {"tap_listen", "tap_whisper", "tap_barge", "agent_forced_not_ready", "agent_messaged"}


def _audit(cluster: LocalCluster, actor: str) -> list[tuple[str, str]]:
    with sqlite3.connect(cluster.base_dir / "data" / f"{SITE}.db") as db:
        rows = db.execute("SELECT action, details FROM audit_log WHERE actor = ?", (actor,)).fetchall()
    return [(str(action), str(details)) for action, details in rows]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1) as c:
        yield c


@pytest.fixture(scope="module")
def supervisor_browser(pw: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    browser = _launch(pw, write_tone(tmp_path_factory.mktemp("wav") / "supervisor.wav", SUPERVISOR_HZ))
    try:
        yield browser
    finally:
        browser.close()


def test_a_team_leader_watches_listens_and_acts_on_their_team(
    cluster: LocalCluster,
    customer_browser: Browser,
    agent_browser: Browser,
    supervisor_browser: Browser,
    artifacts: Path,
) -> None:
    talking = AgentPage(agent_browser, cluster, SITE, artifacts, "sup-agent")  # north-04, team north-a
    other = AgentPage(agent_browser, cluster, SITE, artifacts, "sup-other")  # north-06, team north-a
    leader = SupervisorPage(supervisor_browser, cluster, SITE, artifacts, "sup-leader")  # north-02
    customer = CustomerPage(customer_browser, cluster, SITE, artifacts, "sup-customer")
    try:
        talking.login("north-04")
        other.login("north-06")
        other.ready()
        leader.open_console("north-02")
        expect(leader.row("north-04")).to_contain_text("Not ready")
        expect(leader.row("north-05")).to_have_count(0)  # team north-b: not this leader's
        expect(leader.page.locator("#queues tbody tr").first).to_be_visible()

        other.not_ready("break")
        talking.ready()
        wait_ready_published(cluster, SITE, "credit_card")
        customer.call()
        customer.hears_sound()
        customer.press("0")
        talking.wait_ringing()
        talking.answer()
        expect(leader.row("north-04")).to_contain_text("On a call", timeout=1000)  # pushed, not polled
        expect(leader.row("north-04").locator("td.call")).to_contain_text("credit")
        leader.shot("talking")

        leader.not_hearing(CUSTOMER_HZ, hits=3)  # nothing reaches the console before it taps
        leader.act("Listen", "north-04")
        expect(leader.page.locator("#tap-state")).to_contain_text("listen on north-04")
        hears_both(leader, CUSTOMER_HZ, AGENT_HZ, quiet_hz=QUIET_HZ)
        customer.not_hearing(SUPERVISOR_HZ)  # listening is silent
        talking.not_hearing(SUPERVISOR_HZ)
        leader.shot("listening")

        leader.act("Whisper", "north-04")  # coaching: the agent hears the leader, the caller does not
        hears_both(talking, CUSTOMER_HZ, SUPERVISOR_HZ, quiet_hz=QUIET_HZ)
        customer.not_hearing(SUPERVISOR_HZ)
        leader.act("Barge", "north-04")  # now the caller hears the leader too
        hears_both(customer, AGENT_HZ, SUPERVISOR_HZ, quiet_hz=QUIET_HZ)
        expect(leader.page.locator("#tap-state")).to_contain_text("barge on north-04")

        other.ready()
        expect(leader.row("north-06")).to_contain_text("Ready")
        leader.page.get_by_label("Not-ready reason").select_option("coaching")
        leader.act("Not ready", "north-06")
        other.expect_state("Not ready")
        expect(other.page.locator("#agent-reason")).to_have_text("(coaching)")
        expect(leader.row("north-06")).to_contain_text("(coaching)")

        leader.page.get_by_label("Message to the agent").fill("Offer the card upgrade 4111 1111 1111 1111")
        leader.act("Message", "north-04")
        notice = talking.page.get_by_role("alert", name="Message from your supervisor")
        expect(notice).to_contain_text("Offer the card upgrade")
        assert "4111 1111 1111 1111" not in notice.inner_text()
        talking.shot("message")

        wait_until(lambda: AUDITED <= {action for action, _ in _audit(cluster, "north-02")}, "the leader's audit trail")
        assert not any("4111" in details for _, details in _audit(cluster, "north-02"))  # only the length

        leader.page.get_by_label("Site").select_option("*")  # every site: central's merged view
        wait_until(lambda: (leader.hook("view()") or {}).get("sites") == [SITE], "central's view in the console")
        expect(leader.row("north-04")).to_contain_text("On a call")
        expect(leader.row("north-05")).to_have_count(0)
    finally:
        for page in (customer, leader, other, talking):
            page.close()


def test_a_plain_agent_cannot_open_the_console(
    cluster: LocalCluster, supervisor_browser: Browser, artifacts: Path
) -> None:
    plain = SupervisorPage(supervisor_browser, cluster, SITE, artifacts, "sup-plain")
    try:
        plain.login("north-05")
        expect(plain.page.locator("#error")).to_contain_text("role.forbidden", timeout=10_000)
        expect(plain.page.locator("#console")).to_be_hidden()
    finally:
        plain.close()
