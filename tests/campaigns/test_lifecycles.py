"""The campaign's and a contact's machines on every state x event pair."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from central.campaigns.attempts import (
    FINAL_STATES,
    Answered,
    Block,
    Contact,
    ContactState,
    Dial,
    Event,
    Offer,
    Outcome,
    Result,
    RetryPolicy,
    Skip,
    attempt_step,
)
from central.campaigns.errors import BadOutcome, BadPolicy, TransitionNotAllowed
from central.campaigns.machine import TRANSITIONS, CampaignEvent, CampaignState, campaign_step

NOW = dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC).timestamp()
POLICY = RetryPolicy()

CAMPAIGN_EXPECTED = {
    ("draft", "start"): "running", ("draft", "finish"): "finished",
    ("running", "pause"): "paused", ("running", "finish"): "finished", ("running", "exhausted"): "finished",
    ("paused", "resume"): "running", ("paused", "finish"): "finished",
}  # fmt: skip


@pytest.mark.parametrize(("state", "event"), list(itertools.product(CampaignState, CampaignEvent)))
def test_every_campaign_state_and_event(state: CampaignState, event: CampaignEvent) -> None:
    expected = CAMPAIGN_EXPECTED.get((state.value, event.value))
    if expected is None:
        with pytest.raises(TransitionNotAllowed) as refused:
            campaign_step(state, event)
        assert refused.value.error_id == "campaign.transition_not_allowed"
        assert refused.value.details["state"] == state.value
    else:
        assert campaign_step(state, event).value == expected
    assert len(TRANSITIONS) == len(CAMPAIGN_EXPECTED)


def _contact(state: ContactState, attempts: int = 1) -> Contact:
    agent = "north-1" if state in (ContactState.OFFERED, ContactState.DIALLING, ContactState.CONNECTED) else None
    return Contact(state=state, attempts=attempts, agent=agent)


EVENTS: dict[str, Event] = {
    "offer": Offer("north-2"),
    "skip": Skip("customer known to be abroad"),
    "dial": Dial("north-3"),
    "answered": Answered(),
    "no_answer": Result(Outcome.NO_ANSWER),
    "reached": Result(Outcome.REACHED),
    "block": Block("do_not_call"),
}
# state -> event -> resulting state (absent: refused, the contact unchanged)
CONTACT_EXPECTED: dict[str, dict[str, str]] = {
    "pending": {"offer": "offered", "dial": "dialling", "block": "blocked"},
    "offered": {"skip": "pending", "dial": "dialling", "block": "blocked"},
    "dialling": {"answered": "connected", "no_answer": "pending", "block": "blocked"},
    "connected": {"reached": "done", "block": "blocked"},
    "done": {}, "exhausted": {}, "blocked": {},
}  # fmt: skip


@pytest.mark.parametrize(("state", "name"), list(itertools.product(ContactState, EVENTS)))
def test_every_contact_state_and_event(state: ContactState, name: str) -> None:
    before = _contact(state)
    expected = CONTACT_EXPECTED[state.value].get(name)
    if expected is None:
        with pytest.raises((TransitionNotAllowed, BadOutcome)):
            attempt_step(before, EVENTS[name], POLICY, NOW)
        return
    after = attempt_step(before, EVENTS[name], POLICY, NOW)
    assert after.state.value == expected
    assert after.state not in FINAL_STATES or after.agent is None


def test_a_dial_counts_an_attempt_and_keeps_the_previewing_agent() -> None:
    offered = attempt_step(Contact(), Offer("north-1"), POLICY, NOW)
    dialling = attempt_step(offered, Dial("someone-else"), POLICY, NOW)
    assert (dialling.attempts, dialling.agent) == (1, "north-1")


def test_no_answer_is_retried_after_its_delay_until_the_attempts_are_spent() -> None:
    policy = RetryPolicy(max_attempts=2)
    contact, now = Contact(), NOW
    contact = attempt_step(attempt_step(contact, Dial(), policy, now), Result(Outcome.NO_ANSWER), policy, now)
    assert (contact.state, contact.next_at) == (ContactState.PENDING, NOW + 2 * 3600)
    contact = attempt_step(attempt_step(contact, Dial(), policy, now), Result(Outcome.BUSY), policy, now)
    assert (contact.state, contact.outcome, contact.attempts) == (ContactState.EXHAUSTED, Outcome.BUSY, 2)
    with pytest.raises(TransitionNotAllowed):
        attempt_step(contact, Dial(), policy, now)


def test_a_skipped_preview_comes_back_later_for_anybody() -> None:
    skipped = attempt_step(attempt_step(Contact(), Offer("north-1"), POLICY, NOW), Skip("busy day"), POLICY, NOW)
    assert (skipped.state, skipped.agent, skipped.attempts) == (ContactState.PENDING, None, 0)
    assert skipped.next_at == NOW + POLICY.skip_after_s


def _connected() -> Contact:
    return attempt_step(attempt_step(Contact(), Dial("north-1"), POLICY, NOW), Answered(), POLICY, NOW)


def test_a_promise_to_pay_keeps_its_date_and_amount() -> None:
    done = attempt_step(_connected(), Result(Outcome.PROMISE_TO_PAY, {"amount": "120.50", "date": "2026-12-20"}),
                        POLICY, NOW)  # fmt: skip
    assert (done.state, done.outcome) == (ContactState.DONE, Outcome.PROMISE_TO_PAY)
    assert done.details == {"amount": "120.50", "date": "2026-12-20"}


@pytest.mark.parametrize(("details", "field"), [
    ({"amount": "-5", "date": "2026-12-20"}, "amount"), ({"amount": "12,5", "date": "2026-12-20"}, "amount"),
    ({"amount": "10"}, "date"), ({"amount": "10", "date": "2025-01-01"}, "date"),
])  # fmt: skip
def test_a_bad_promise_is_refused_naming_the_field(details: dict[str, str], field: str) -> None:
    with pytest.raises(BadOutcome) as refused:
        attempt_step(_connected(), Result(Outcome.PROMISE_TO_PAY, details), POLICY, NOW)
    assert refused.value.details["field"] == field


def test_an_outcome_of_the_wrong_phase_is_refused() -> None:
    ringing = attempt_step(Contact(), Dial(), POLICY, NOW)
    with pytest.raises(BadOutcome) as refused:
        attempt_step(ringing, Result(Outcome.REACHED), POLICY, NOW)
    assert "reached" not in refused.value.details["allowed"]
    with pytest.raises(BadOutcome):
        attempt_step(_connected(), Result(Outcome.NO_ANSWER), POLICY, NOW)


def test_retry_policies_parse_and_refuse_bad_settings() -> None:
    policy = RetryPolicy.parse({"max_attempts": 5, "retry_after_s": {"busy": 600}})
    assert (policy.max_attempts, dict(policy.retry_after_s)) == (5, {Outcome.BUSY: 600.0})
    assert RetryPolicy.parse(policy.to_dict()) == policy
    bad_settings: list[tuple[dict[str, Any], str]] = [
        ({"max_attempts": 0}, "retry.max_attempts"),
        ({"retry_after_s": {"reached": 600}}, "retry.retry_after_s"),
        ({"retry_after_s": {"busy": 5}}, "retry.retry_after_s"),
        ({"retry_after_s": {"sleepy": 600}}, "retry.retry_after_s"),
        ({"colour": 1}, "retry"),
    ]
    for bad, field in bad_settings:
        with pytest.raises(BadPolicy) as refused:
            RetryPolicy.parse(bad)
        assert refused.value.details["field"] == field
