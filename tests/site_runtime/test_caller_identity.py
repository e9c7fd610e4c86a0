"""Security finding 5: a web caller's number is its own claim. Claiming a VIP customer's number
identifies (the agent sees the name, marked unverified) but raises no priority and picks no VIP
service; the PIN in the IVR verifies; a number the network delivered is trusted.

The site's own IVR runner, driver and flows run against a real SQLite database, the customer
at a real central CRM server (its own SQLite business database); only the media
edge is replaced (prompts end at once; the caller's keys arrive as signalled digits)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cluster.callrecords import CallRecord, NumberSource, RecordState
from cluster.clock import ManualClock
from cluster.etcd_server import free_port
from site_node.call import call_from_record
from site_node.calls.live import LiveCall
from site_node.media.codecs import OPUS
from site_node.media.null_leg import NullLeg
from site_node.media.tasks import Ticker
from tests.crm.conftest import serve
from tests.site_node.ivr_helpers import WEEKDAY_10AM
from tests.site_runtime.harness import SECRET, Client, Harness

VIP_NUMBER = "+8613912345678"
VIP_PIN = "654321"
VIP_ID = "90000001"  # the customer number at central: a call's customer_id


class ScriptedCaller:
    """Prompts end at once; when a prompt containing a cue is played, the caller keys its answer
    (each cue once), as a web caller's page sends digits."""

    def __init__(self, answers: list[tuple[str, str]]) -> None:
        self.answers = list(answers)
        self.legs: dict[str, NullLeg] = {}
        self.played: list[str] = []

    async def play_prompt(self, leg_id: str, text: str | None, language: str, audio: str | None = None) -> bool:
        self.played.append(text or "")
        if self.answers and text and self.answers[0][0] in text:
            _, keys = self.answers.pop(0)
            for key in keys:
                self.legs[leg_id].deliver_digit(key, "signalling")
        return True

    def stop_prompt(self, leg_id: str) -> None:
        pass


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = ManualClock(WEEKDAY_10AM)
    async for crm in serve(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}", SECRET, clock):
        # the customer lives at central; the site identifies and verifies through its API
        vip = {"customer_number": VIP_ID, "name": "Vera Important", "segment": "vip", "phones": [VIP_NUMBER]}
        await crm.add(vip, pin=VIP_PIN)
        harness = await Harness.start(tmp_path, clock=clock, queues=("retail", "vip"), central=crm.url)
        yield harness
        await harness.stop()


async def _call_in(site: Harness, source: NumberSource, answers: list[tuple[str, str]]) -> tuple[LiveCall, Client]:
    """A caller from ``VIP_NUMBER`` (as ``source`` delivered it) dials 95588; agents wait in both queues."""
    agents = [await site.agent("a-retail", {"retail": 5}), await site.agent("a-vip", {"vip": 5})]
    return await _ring(site, agents, "call-1", VIP_NUMBER, source, answers)


async def _ring(
    site: Harness, agents: list[Client], call_id: str, number: str, source: NumberSource,
    answers: list[tuple[str, str]],
) -> tuple[LiveCall, Client]:  # fmt: skip
    """``number`` calls through the IVR (answering ``answers``) to one of ``agents``, made ready."""
    for agent in agents:
        if site.runtime.desk.live_agent(agent.session).agent.state.value not in ("ready", "reserved"):
            site.runtime.desk.command_state(agent.session, "ready", None)
    await site.settle()
    record = CallRecord(
        call_id, site.runtime.site, RecordState.ROUTED, "retail", 0, site.clock.now(),
        caller=number, dialled="95588", number_source=source,
    )  # fmt: skip
    site.store.records[record.call_id] = record
    lc = LiveCall(call_from_record(record, site=site.runtime.site, now=site.clock.now()), record)
    caller = ScriptedCaller(answers)
    lc.leg = NullLeg(f"leg-{call_id}", OPUS, Ticker())
    caller.legs[lc.leg.leg_id] = lc.leg
    site.runtime.book.live[lc.call_id] = lc
    site.runtime.ivr._prompts = caller  # the media edge only
    await site.runtime.ivr.run(lc, None)
    await site.settle()
    rang = [a for a in agents if any(n == "ringing" and d["call_id"] == call_id for n, d in a.events)]
    assert len(rang) == 1, [a.names() for a in agents]
    return lc, rang[0]


async def _answered_and_done(site: Harness, lc: LiveCall, agent: Client) -> None:
    await site.runtime.answer_call(agent.session, lc.call_id)
    await site.runtime.hangup(agent.session, "done")
    await site.runtime.agent_command(agent.session, "wrap_up", {"code": "card", "end": True})
    await site.settle()


def _pop(agent: Client, call_id: str = "call-1") -> dict[str, Any]:
    return next(data for name, data in agent.events if name == "ringing" and data["call_id"] == call_id)["screen_pop"]


MENU = "Please choose from the following options."
PIN_PROMPT = "telephone banking PIN"
AFTER_BALANCE = "the main menu"


async def test_a_web_caller_claiming_a_vip_number_gets_normal_priority_and_an_unverified_pop(site: Harness) -> None:
    lc, agent = await _call_in(site, NumberSource.ASSERTED, [(MENU, "0")])
    assert agent.session.subject == "a-retail"  # the retail queue, not the VIP team
    assert (lc.call.queue, lc.call.priority) == ("retail", 0)
    pop = _pop(agent)
    assert pop["priority"] == 0 and pop["queue"] == "retail"
    assert pop["customer"]["name"] == "Vera Important"  # identified for the agent ...
    assert (pop["identity"], pop["number_source"]) == ("unverified", "asserted")  # ... marked unverified
    assert pop["ivr"]["attributes"]["identified_by"] == "by caller number, unverified"
    assert lc.call.data.segment is None and lc.segment is None  # the VIP segment is not the call's
    assert not any("personal banking" in text for text in site.runtime.ivr._prompts.played)  # type: ignore[attr-defined]  # nothing told


async def test_the_same_caller_verified_by_pin_is_identified(site: Harness) -> None:
    lc, agent = await _call_in(site, NumberSource.ASSERTED, [(MENU, "1"), (PIN_PROMPT, VIP_PIN), (AFTER_BALANCE, "0")])
    pop = _pop(agent)
    assert (pop["identity"], pop["verified"]) == ("verified", True)
    assert pop["customer"]["id"] == VIP_ID and lc.call.data.segment == "vip"
    assert lc.record.number_source is NumberSource.ASSERTED  # the number itself stays a claim


async def test_a_wrong_pin_leaves_the_caller_unverified(site: Harness) -> None:
    _, agent = await _call_in(
        site,
        NumberSource.ASSERTED,
        [(MENU, "1"), (PIN_PROMPT, "111111"), (PIN_PROMPT, "222222"), (PIN_PROMPT, "333333")],
    )
    pop = _pop(agent)
    assert pop["identity"] == "unverified" and pop["verified"] is False and pop["priority"] == 0


async def test_a_network_delivered_number_is_trusted_for_the_vip_service(site: Harness) -> None:
    lc, agent = await _call_in(site, NumberSource.NETWORK, [])
    assert agent.session.subject == "a-vip"
    assert (lc.call.queue, lc.call.priority) == ("vip", 10)
    assert (_pop(agent)["identity"], _pop(agent)["number_source"]) == ("network", "network")


async def test_with_central_unreachable_a_customer_seen_before_keeps_the_pop_and_others_still_reach_an_agent(
    site: Harness,
) -> None:
    agents = [await site.agent("a-retail", {"retail": 5}), await site.agent("a-vip", {"vip": 5})]
    await _answered_and_done(site, *await _ring(site, agents, "call-1", VIP_NUMBER, NumberSource.NETWORK, []))
    site.central_urls[:] = [f"http://127.0.0.1:{free_port()}"]  # every central replica unreachable
    again, agent = await _ring(site, agents, "call-2", VIP_NUMBER, NumberSource.NETWORK, [])
    pop = _pop(agent, "call-2")  # the bounded cache answers for a call of a customer seen before
    assert pop["customer"]["name"] == "Vera Important" and again.call.data.customer_id == VIP_ID
    assert [h["call_id"] for h in pop["history"]] in ([], ["call-1"])  # what was cached of the timeline

    stranger, agent = await _ring(site, agents, "call-3", "+8613900000099", NumberSource.NETWORK, [(MENU, "0")])
    assert _pop(agent, "call-3")["customer"] is None  # nothing cached: no screen pop, the call goes on
    assert stranger.call.data.customer_id is None and stranger.call.queue == "retail"


async def test_with_central_unreachable_a_pin_is_not_verified_and_the_call_goes_on(site: Harness) -> None:
    agents = [await site.agent("a-retail", {"retail": 5}), await site.agent("a-vip", {"vip": 5})]
    cached = await _ring(site, agents, "call-0", VIP_NUMBER, NumberSource.ASSERTED, [(MENU, "0")])
    await _answered_and_done(site, *cached)
    site.central_urls[:] = [f"http://127.0.0.1:{free_port()}"]
    answers = [(MENU, "1"), (PIN_PROMPT, VIP_PIN), (PIN_PROMPT, VIP_PIN), (PIN_PROMPT, VIP_PIN)]  # never checked
    _, agent = await _ring(site, agents, "call-1", VIP_NUMBER, NumberSource.ASSERTED, answers)
    pop = _pop(agent)
    assert pop["verified"] is not True and pop["identity"] == "unverified"
    assert pop["customer"]["customer_number"] == VIP_ID
