"""One contact of a campaign, pure: ``attempt_step(contact, event, policy) -> contact``.

    pending ──offer(agent)──▶ offered ──skip──▶ pending (later, for anybody)
       │                         │ dial
       └──────── dial ───────────┴──▶ dialling ──answered──▶ connected
                                        │ no_answer / busy                  │ outcome (abandoned: no agent)
                                        ▼                                   ▼
                      pending (retry later) or exhausted          done (or pending to retry)
    any state but done / exhausted ──block──▶ blocked (do-not-call, consent withdrawn)

An outcome decides by :class:`RetryPolicy`: retried after its delay while attempts remain, else
final. ``promise_to_pay`` carries a date and an amount; a wrong outcome for the state is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from central.campaigns.errors import BadOutcome, BadPolicy, TransitionNotAllowed


class ContactState(StrEnum):
    PENDING = "pending"
    OFFERED = "offered"  # preview: shown to one agent, who calls or skips
    DIALLING = "dialling"
    CONNECTED = "connected"
    DONE = "done"
    EXHAUSTED = "exhausted"  # every attempt spent without a final outcome
    BLOCKED = "blocked"


class Outcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    PROMISE_TO_PAY = "promise_to_pay"
    ABANDONED = "abandoned"  # answered, but no agent was there (progressive dialling)


FINAL_STATES = frozenset({ContactState.DONE, ContactState.EXHAUSTED, ContactState.BLOCKED})
# outcomes a dialling (not yet answered) call may end with, and those of a connected one
RING_OUTCOMES = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.WRONG_NUMBER})
TALK_OUTCOMES = frozenset({Outcome.REACHED, Outcome.WRONG_NUMBER, Outcome.REFUSED, Outcome.PROMISE_TO_PAY,
                           Outcome.ABANDONED})  # fmt: skip
_AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class RetryPolicy:
    """Which outcomes are tried again and after how long; ``max_attempts`` dials in all."""

    max_attempts: int = 3
    retry_after_s: Mapping[Outcome, float] = field(default_factory=lambda: {
        Outcome.NO_ANSWER: 2 * 3600.0, Outcome.BUSY: 15 * 60.0, Outcome.ABANDONED: 10 * 60.0})  # fmt: skip
    skip_after_s: float = 30 * 60.0  # a skipped preview comes back to the list after this

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> RetryPolicy:
        unknown = sorted(set(data) - {"max_attempts", "retry_after_s", "skip_after_s"})
        if unknown:
            raise BadPolicy(f"unknown retry setting(s): {', '.join(unknown)}", field="retry", unknown=unknown)
        base = cls()
        attempts = data.get("max_attempts", base.max_attempts)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 20:
            raise BadPolicy("max_attempts must be a whole number from 1 to 20", field="retry.max_attempts")
        delays: dict[Outcome, float] = {}
        for name, seconds in dict(data.get("retry_after_s", base.retry_after_s)).items():
            try:
                outcome = Outcome(name)
            except ValueError:
                raise BadPolicy(f"unknown outcome {name!r} in retry_after_s", field="retry.retry_after_s") from None
            if outcome in (Outcome.REACHED, Outcome.PROMISE_TO_PAY, Outcome.REFUSED):
                raise BadPolicy(f"{name} is final: it is never retried", field="retry.retry_after_s")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 60:
                raise BadPolicy(f"retry after {name} must be at least 60 seconds", field="retry.retry_after_s")
            delays[outcome] = float(seconds)
        skip = data.get("skip_after_s", base.skip_after_s)
        if not isinstance(skip, int | float) or isinstance(skip, bool) or skip < 0:
            raise BadPolicy("skip_after_s must be a number of seconds >= 0", field="retry.skip_after_s")
        return cls(attempts, delays, float(skip))

    def to_dict(self) -> dict[str, Any]:
        return {"max_attempts": self.max_attempts, "skip_after_s": self.skip_after_s,
                "retry_after_s": {o.value: s for o, s in self.retry_after_s.items()}}  # fmt: skip


@dataclass(frozen=True)
class Contact:
    state: ContactState = ContactState.PENDING
    attempts: int = 0
    next_at: float = 0.0  # not tried before this (retry spacing, skip)
    agent: str | None = None  # the agent it is offered to / reserved for
    outcome: Outcome | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # promise: {"date", "amount"}; skip/block reason


@dataclass(frozen=True)
class Offer:
    agent: str


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Dial:
    agent: str | None = None  # progressive: the agent reserved for the call


@dataclass(frozen=True)
class Answered:
    pass


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Block:
    reason: str


Event = Offer | Skip | Dial | Answered | Result | Block


def _refuse(contact: Contact, event: Event) -> TransitionNotAllowed:
    name = type(event).__name__.lower()
    return TransitionNotAllowed(f"a {contact.state.value} contact cannot take {name}",
                                error_id="campaign.contact_transition_not_allowed", state=contact.state.value,
                                event=name)  # fmt: skip


def _promise(details: Mapping[str, Any], now: float) -> dict[str, Any]:
    amount, date = str(details.get("amount", "")), str(details.get("date", ""))
    if not _AMOUNT.fullmatch(amount) or float(amount) <= 0:
        raise BadOutcome("a promise to pay needs an amount such as 120.50", field="amount")
    try:
        when = dt.date.fromisoformat(date)
    except ValueError:
        raise BadOutcome("a promise to pay needs a date (YYYY-MM-DD)", field="date") from None
    if when < dt.datetime.fromtimestamp(now, dt.UTC).date() - dt.timedelta(days=1):
        raise BadOutcome("a promise to pay cannot be dated in the past", field="date")
    return {"amount": amount, "date": when.isoformat()}


def _result(contact: Contact, event: Result, policy: RetryPolicy, now: float) -> Contact:
    allowed = RING_OUTCOMES if contact.state is ContactState.DIALLING else TALK_OUTCOMES
    if event.outcome not in allowed:
        raise BadOutcome(f"{event.outcome.value} is not an outcome of a {contact.state.value} call",
                         outcome=event.outcome.value, allowed=sorted(o.value for o in allowed))  # fmt: skip
    details = _promise(event.details, now) if event.outcome is Outcome.PROMISE_TO_PAY else {}
    delay = policy.retry_after_s.get(event.outcome)
    if delay is None:
        return replace(contact, state=ContactState.DONE, outcome=event.outcome, agent=None, details=details)
    if contact.attempts >= policy.max_attempts:
        return replace(contact, state=ContactState.EXHAUSTED, outcome=event.outcome, agent=None, details={})
    return replace(contact, state=ContactState.PENDING, outcome=event.outcome, agent=None, next_at=now + delay,
                   details={})  # fmt: skip


def attempt_step(contact: Contact, event: Event, policy: RetryPolicy, now: float) -> Contact:
    state = contact.state
    if isinstance(event, Block) and state not in FINAL_STATES:
        return replace(contact, state=ContactState.BLOCKED, agent=None, details={"reason": event.reason})
    if isinstance(event, Offer) and state is ContactState.PENDING:
        return replace(contact, state=ContactState.OFFERED, agent=event.agent)
    if isinstance(event, Skip) and state is ContactState.OFFERED:
        return replace(contact, state=ContactState.PENDING, agent=None, next_at=now + policy.skip_after_s,
                       details={"skipped": event.reason})  # fmt: skip
    if isinstance(event, Dial) and state in (ContactState.PENDING, ContactState.OFFERED):
        if contact.attempts >= policy.max_attempts:
            raise _refuse(contact, event)
        agent = contact.agent if state is ContactState.OFFERED else event.agent
        return replace(contact, state=ContactState.DIALLING, attempts=contact.attempts + 1, agent=agent)
    if isinstance(event, Answered) and state is ContactState.DIALLING:
        return replace(contact, state=ContactState.CONNECTED)
    if isinstance(event, Result) and state in (ContactState.DIALLING, ContactState.CONNECTED):
        return _result(contact, event, policy, now)
    raise _refuse(contact, event)
