"""Campaigns as the API sees them: validation, the lifecycle, lists, and preview dialling.

The decisions are the pure modules' (:mod:`machine`, :mod:`attempts`, :mod:`dialler`); this
reads and writes through :class:`CampaignStore` with optimistic versions, so two replicas
serving two agents at once never offer one contact twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from central.campaigns.attempts import (
    Answered,
    Block,
    Dial,
    Event,
    Offer,
    Outcome,
    Result,
    RetryPolicy,
    Skip,
    attempt_step,
)
from central.campaigns.dialler import Candidate, DialPlan, Floor, Mode, decide
from central.campaigns.errors import BadOutcome, BadPolicy, CampaignError
from central.campaigns.hours import CallingHours, zone
from central.campaigns.lists import ListReport, parse_list
from central.campaigns.machine import CampaignEvent, CampaignState, campaign_step
from central.campaigns.store import CampaignStore, contact_of
from cluster.clock import Clock

KINDS = ("reminder", "return_visit", "survey")
ACTIVE = ("pending", "offered", "dialling", "connected")
MAX_SCRIPT = 10_000
_BATCH = 50


class Consent(Protocol):
    """The CRM's word on calling: customer number -> may we call (absent: not a known customer)."""

    async def may_call(self, customer_numbers: Iterable[str]) -> Mapping[str, bool]: ...


def _text(body: Mapping[str, Any], name: str, limit: int, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadPolicy(f"{name}: a text of 1 to {limit} characters", field=name)
    return value.strip()


def campaign_fields(body: Mapping[str, Any], actor: str) -> dict[str, Any]:
    """A new campaign's columns from a request body; bad input names its field."""
    unknown = sorted(set(body) - {"name", "kind", "mode", "ratio", "blend_below", "tz", "hours", "retry", "agents",
                                  "script"})  # fmt: skip
    if unknown:
        raise BadPolicy(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    kind = body.get("kind", "reminder")
    if kind not in KINDS:
        raise BadPolicy(f"kind: one of {', '.join(KINDS)}", field="kind")
    try:
        mode = Mode(body.get("mode", "preview"))
    except ValueError:
        raise BadPolicy("mode: preview or progressive", field="mode") from None
    ratio, blend = body.get("ratio", 1.0), body.get("blend_below")
    if not isinstance(ratio, int | float) or isinstance(ratio, bool):
        raise BadPolicy("ratio: a number", field="ratio")
    if blend is not None and (not isinstance(blend, int | float) or isinstance(blend, bool)):
        raise BadPolicy("blend_below: a number from 0 to 1", field="blend_below")
    DialPlan(mode, float(ratio), blend)
    tz = _text(body, "tz", 64, "Europe/Berlin")
    zone(tz)
    hours, retry = body.get("hours", {}), body.get("retry", {})
    if not isinstance(hours, dict) or not isinstance(retry, dict):
        raise BadPolicy("hours and retry are objects", field="hours" if not isinstance(hours, dict) else "retry")
    CallingHours.parse(hours)
    agents = body.get("agents", [])
    if not isinstance(agents, list) or not all(isinstance(a, str) and a for a in agents):
        raise BadPolicy("agents: a list of agent ids", field="agents")
    script = body.get("script", "")
    if not isinstance(script, str) or len(script) > MAX_SCRIPT:
        raise BadPolicy(f"script: a text of at most {MAX_SCRIPT} characters", field="script")
    return {"name": _text(body, "name", 120), "kind": kind, "mode": mode.value, "ratio": float(ratio),
            "blend_below": blend, "tz": tz, "hours": hours, "retry": RetryPolicy.parse(retry).to_dict(),
            "agents": agents, "script": script, "created_by": actor}  # fmt: skip


def event_of(body: Mapping[str, Any], agent: str) -> Event:
    name = body.get("event")
    reason = str(body.get("reason", "")).strip()[:200]
    if name in ("skip", "block") and not reason:
        raise BadOutcome(f"{name} needs a reason", field="reason")
    if name == "skip":
        return Skip(reason)
    if name == "block":
        return Block(reason)
    if name == "dial":
        return Dial(agent)
    if name == "answered":
        return Answered()
    if name == "outcome":
        try:
            outcome = Outcome(str(body.get("outcome")))
        except ValueError:
            raise BadOutcome(f"outcome: one of {', '.join(o.value for o in Outcome)}", field="outcome") from None
        details = body.get("details", {})
        return Result(outcome, details if isinstance(details, dict) else {})
    raise BadOutcome("event: skip, dial, answered, outcome or block", field="event")


class CampaignService:
    def __init__(self, store: CampaignStore, consent: Consent, clock: Clock) -> None:
        self.store = store
        self.consent = consent
        self.clock = clock

    async def create(self, actor: str, body: Mapping[str, Any]) -> dict[str, Any]:
        fields = campaign_fields(body, actor)
        if await self.store.exists(fields["name"]):
            raise CampaignError(f"a campaign named {fields['name']!r} exists", error_id="campaign.duplicate_name",
                                status=409, field="name")  # fmt: skip
        return await self.store.create(fields, self.clock.now())

    async def view(self, campaign_id: int) -> dict[str, Any]:
        return await self.store.get(campaign_id) | {"progress": await self.store.progress(campaign_id)}

    async def transition(self, campaign_id: int, event: str) -> dict[str, Any]:
        try:
            what = CampaignEvent(event)
        except ValueError:
            raise BadPolicy("event: start, pause, resume or finish", field="event") from None
        if what is CampaignEvent.EXHAUSTED:
            raise BadPolicy("a campaign is exhausted by the dialler, not by request", field="event")
        row = await self.store.get(campaign_id)
        state = campaign_step(CampaignState(row["state"]), what)
        if what is CampaignEvent.START and not (await self.store.progress(campaign_id))["states"]:
            raise CampaignError("the campaign has no contacts yet: import a list first",
                                error_id="campaign.empty_list", status=409)  # fmt: skip
        if not await self.store.set_state(campaign_id, state.value, row["version"], self.clock.now()):
            raise CampaignError("the campaign changed meanwhile: read it again", error_id="campaign.version_conflict",
                                status=409)  # fmt: skip
        return await self.view(campaign_id)

    async def import_list(self, campaign_id: int, lines: Iterable[str], *, dry_run: bool) -> dict[str, Any]:
        row = await self.store.get(campaign_id)
        if row["state"] == CampaignState.FINISHED:
            raise CampaignError("a finished campaign takes no more contacts", error_id="campaign.finished", status=409)
        report = ListReport()
        entries = list(parse_list(lines, row["tz"], report))
        added, already = (0, 0) if dry_run else await self.store.add_contacts(campaign_id, entries, self.clock.now())
        return report.to_dict() | {"dry_run": dry_run, "added": added, "already_listed": already}

    async def _running(self, campaign_id: int, agent: str) -> dict[str, Any]:
        row = await self.store.get(campaign_id)
        if row["state"] != CampaignState.RUNNING:
            raise CampaignError(f"the campaign is {row['state']}", error_id="campaign.not_running", status=409)
        if row["agents"] and agent not in row["agents"]:
            raise CampaignError("you are not assigned to this campaign", error_id="campaign.not_assigned", status=403)
        return row

    async def _gate(self, rows: list[dict[str, Any]]) -> dict[int, str]:
        barred = await self.store.do_not_call(r["phone"] for r in rows)
        consent = await self.consent.may_call(r["customer_number"] for r in rows if r["customer_number"])
        out = {r["id"]: "do_not_call" for r in rows if r["phone"] in barred}
        refused = {r["id"]: "no_consent" for r in rows if consent.get(r["customer_number"]) is False}
        return refused | out

    async def preview(self, campaign_id: int, agent: str) -> dict[str, Any] | None:
        """The contact offered to ``agent`` now (the same one again until it is worked), or None."""
        campaign = await self._running(campaign_id, agent)
        held = await self.store.offered_to(campaign_id, agent)
        if held is not None:
            return held
        hours, policy = CallingHours.parse(campaign["hours"]), RetryPolicy.parse(campaign["retry"])
        for _ in range(20):  # each round a fresh batch: the contacts other agents took are gone from it
            rows = await self.store.due(campaign_id, self.clock.now(), _BATCH)
            if not rows:
                await self._maybe_exhausted(campaign)
                return None
            offered = await self._offer_from(rows, agent, hours, policy)
            if offered is not None:
                return await self.store.contact(campaign_id, offered)
        return None

    async def _offer_from(self, rows: list[dict[str, Any]], agent: str, hours: CallingHours,
                          policy: RetryPolicy) -> int | None:  # fmt: skip
        """Offer ``agent`` the first contact of the batch that may be called and nobody took first."""
        now = self.clock.now()
        gate = await self._gate(rows)
        by_id = {r["id"]: r for r in rows}
        left = [Candidate(r["id"], r["tz"]) for r in rows]
        while left:
            out = decide(DialPlan(Mode.PREVIEW), hours, left, Floor([agent]), now, gate=lambda c: gate.get(c.id))
            for d in out.blocked:
                row = by_id[d.contact_id]
                await self.store.apply(row, attempt_step(contact_of(row), Block(d.reason or ""), policy, now), "block",
                                       "dialler", now)  # fmt: skip
            for d in out.deferred:
                row = by_id[d.contact_id]
                later = dataclasses.replace(contact_of(row), next_at=d.until if d.until is not None else now + 86400)
                await self.store.apply(row, later, "defer", "dialler", now)
            if not out.actions:
                return None
            row = by_id[out.actions[0].contact_id]
            if await self.store.apply(row, attempt_step(contact_of(row), Offer(agent), policy, now), "offer", agent,
                                      now):  # fmt: skip
                return int(row["id"])
            done = {d.contact_id for d in (*out.blocked, *out.deferred, *out.actions)}
            left = [c for c in left if c.id not in done]  # another agent took it: the next one
        return None

    async def _maybe_exhausted(self, campaign: dict[str, Any]) -> None:
        states = (await self.store.progress(campaign["id"]))["states"]
        if not any(states.get(s) for s in ACTIVE):
            state = campaign_step(CampaignState(campaign["state"]), CampaignEvent.EXHAUSTED)
            await self.store.set_state(campaign["id"], state.value, campaign["version"], self.clock.now())

    async def step(self, campaign_id: int, contact_id: int, body: Mapping[str, Any], agent: str) -> dict[str, Any]:
        campaign = await self._running(campaign_id, agent)
        row = await self.store.contact(campaign_id, contact_id)
        if row["agent"] != agent:
            raise CampaignError("this contact is not offered to you", error_id="campaign.not_your_contact", status=403)
        event = event_of(body, agent)
        now = self.clock.now()
        after = attempt_step(contact_of(row), event, RetryPolicy.parse(campaign["retry"]), now)
        name = str(body["event"])
        if isinstance(event, Block):
            await self.store.add_do_not_call(row["phone"], event.reason, agent, now)
        if not await self.store.apply(row, after, name, agent, now):
            raise CampaignError("the contact changed meanwhile: read it again", error_id="campaign.version_conflict",
                                status=409)  # fmt: skip
        return await self.store.contact(campaign_id, contact_id)
