"""The campaign tables through SQLAlchemy: campaigns, contacts (optimistic versions), their
steps, and the do-not-call list. Nothing here decides; :mod:`central.campaigns.service` does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.campaigns.attempts import Contact, ContactState, Outcome
from central.campaigns.errors import UnknownCampaign
from central.campaigns.lists import ListEntry
from central.campaigns.models import Campaign, CampaignAttempt, CampaignContact, DoNotCall
from site_node.storage.errors import translate_errors

CAMPAIGN_FIELDS = ("id", "name", "kind", "state", "mode", "ratio", "blend_below", "tz", "hours", "retry", "agents",
                   "script", "created_by", "created_at", "updated_at", "version")  # fmt: skip
CONTACT_FIELDS = ("id", "campaign_id", "phone", "customer_number", "name", "tz", "priority", "data", "state",
                  "attempts", "next_at", "agent", "outcome", "details", "version")  # fmt: skip


def _view(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


def contact_of(row: dict[str, Any]) -> Contact:
    return Contact(ContactState(row["state"]), row["attempts"], row["next_at"], row["agent"],
                   Outcome(row["outcome"]) if row["outcome"] else None, row["details"] or {})  # fmt: skip


class CampaignStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 reads: async_sessionmaker[AsyncSession] | None = None) -> None:  # fmt: skip
        self.sessions = sessions  # writes (on SQLite: one writer at a time, BEGIN IMMEDIATE)
        self.reads = reads or sessions  # reads beside the writer

    async def create(self, fields: dict[str, Any], now: float) -> dict[str, Any]:
        async with translate_errors("campaign_create"), self.sessions.begin() as s:
            row = Campaign(**fields, created_at=now, updated_at=now, version=1, state="draft")
            s.add(row)
            await s.flush()
            return _view(row, CAMPAIGN_FIELDS)

    async def exists(self, name: str) -> bool:
        async with self.reads() as s:
            return (await s.scalar(select(Campaign.id).where(Campaign.name == name))) is not None

    async def get(self, campaign_id: int) -> dict[str, Any]:
        async with translate_errors("campaign_get"), self.reads() as s:
            row = await s.get(Campaign, campaign_id)
            if row is None:
                raise UnknownCampaign(f"no campaign {campaign_id}", campaign=campaign_id)
            return _view(row, CAMPAIGN_FIELDS)

    async def all(self) -> list[dict[str, Any]]:
        async with translate_errors("campaign_list"), self.reads() as s:
            rows = (await s.scalars(select(Campaign).order_by(Campaign.id))).all()
            return [_view(r, CAMPAIGN_FIELDS) for r in rows]

    async def set_state(self, campaign_id: int, state: str, version: int, now: float) -> bool:
        """Only from the version read (two managers at once: the later one gets ``False``)."""
        async with translate_errors("campaign_state"), self.sessions.begin() as s:
            done = await s.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.version == version)
                                   .values(state=state, version=version + 1, updated_at=now))  # fmt: skip
            return bool(done.rowcount)  # type: ignore[attr-defined]

    async def add_contacts(self, campaign_id: int, entries: Sequence[ListEntry], now: float) -> tuple[int, int]:
        """(added, already on the list): a phone is on a campaign's list once."""
        async with translate_errors("campaign_contacts"), self.sessions.begin() as s:
            known = set((await s.scalars(select(CampaignContact.phone).where(
                CampaignContact.campaign_id == campaign_id))).all())  # fmt: skip
            fresh = [e for e in entries if e.phone not in known]
            if fresh:
                await s.execute(insert(CampaignContact), [
                    {"campaign_id": campaign_id, "phone": e.phone, "customer_number": e.customer_number,
                     "name": e.name, "tz": e.tz, "priority": e.priority, "data": e.data, "state": "pending",
                     "attempts": 0, "next_at": 0.0, "details": {}, "version": 1, "updated_at": now}
                    for e in fresh])  # fmt: skip
            return len(fresh), len(entries) - len(fresh)

    async def due(self, campaign_id: int, now: float, limit: int) -> list[dict[str, Any]]:
        async with translate_errors("campaign_due"), self.reads() as s:
            rows = (await s.scalars(select(CampaignContact).where(
                CampaignContact.campaign_id == campaign_id, CampaignContact.state == "pending",
                CampaignContact.next_at <= now).order_by(CampaignContact.priority.desc(), CampaignContact.next_at,
                                                         CampaignContact.id).limit(limit))).all()  # fmt: skip
            return [_view(r, CONTACT_FIELDS) for r in rows]

    async def offered_to(self, campaign_id: int, agent: str) -> dict[str, Any] | None:
        async with translate_errors("campaign_due"), self.reads() as s:
            row = await s.scalar(select(CampaignContact).where(
                CampaignContact.campaign_id == campaign_id, CampaignContact.agent == agent,
                CampaignContact.state.in_(("offered", "dialling", "connected"))).limit(1))  # fmt: skip
            return None if row is None else _view(row, CONTACT_FIELDS)

    async def contact(self, campaign_id: int, contact_id: int) -> dict[str, Any]:
        async with translate_errors("campaign_contact"), self.reads() as s:
            row = await s.get(CampaignContact, contact_id)
            if row is None or row.campaign_id != campaign_id:
                raise UnknownCampaign(f"campaign {campaign_id} has no contact {contact_id}",
                                      error_id="campaign.unknown_contact", contact=contact_id)  # fmt: skip
            return _view(row, CONTACT_FIELDS)

    async def apply(self, row: dict[str, Any], after: Contact, event: str, actor: str, now: float) -> bool:
        """Write ``after`` over the version read, with its step; ``False``: somebody was first."""
        async with translate_errors("campaign_step"), self.sessions.begin() as s:
            done = await s.execute(update(CampaignContact).where(
                CampaignContact.id == row["id"], CampaignContact.version == row["version"]).values(
                state=after.state.value, attempts=after.attempts, next_at=after.next_at, agent=after.agent,
                outcome=after.outcome.value if after.outcome else None, details=dict(after.details),
                version=row["version"] + 1, updated_at=now))  # fmt: skip
            if not done.rowcount:  # type: ignore[attr-defined]
                return False
            s.add(CampaignAttempt(contact_id=row["id"], at=now, actor=actor, event=event, state=after.state.value,
                                  outcome=after.outcome.value if after.outcome else None,
                                  details=dict(after.details)))  # fmt: skip
            return True

    async def steps(self, contact_id: int) -> list[dict[str, Any]]:
        async with self.reads() as s:
            rows = (await s.scalars(select(CampaignAttempt).where(CampaignAttempt.contact_id == contact_id)
                                    .order_by(CampaignAttempt.id))).all()  # fmt: skip
            return [{"at": r.at, "actor": r.actor, "event": r.event, "state": r.state, "outcome": r.outcome,
                     "details": r.details} for r in rows]  # fmt: skip

    async def progress(self, campaign_id: int) -> dict[str, dict[str, int]]:
        async with translate_errors("campaign_progress"), self.reads() as s:
            by_state = (await s.execute(select(CampaignContact.state, func.count()).where(
                CampaignContact.campaign_id == campaign_id).group_by(CampaignContact.state))).all()  # fmt: skip
            by_outcome = (await s.execute(select(CampaignContact.outcome, func.count()).where(
                CampaignContact.campaign_id == campaign_id, CampaignContact.outcome.is_not(None))
                .group_by(CampaignContact.outcome))).all()  # fmt: skip
            return {"states": {str(k): int(v) for k, v in by_state},
                    "outcomes": {str(k): int(v) for k, v in by_outcome}}  # fmt: skip

    async def do_not_call(self, phones: Iterable[str]) -> set[str]:
        wanted = list(set(phones))
        if not wanted:
            return set()
        async with self.reads() as s:
            return set((await s.scalars(select(DoNotCall.phone).where(DoNotCall.phone.in_(wanted)))).all())

    async def add_do_not_call(self, phone: str, reason: str, actor: str, now: float) -> None:
        async with translate_errors("campaign_dnc"), self.sessions.begin() as s:
            if await s.get(DoNotCall, phone) is None:
                s.add(DoNotCall(phone=phone, reason=reason, added_by=actor, added_at=now))

    async def remove_do_not_call(self, phone: str) -> bool:
        async with translate_errors("campaign_dnc"), self.sessions.begin() as s:
            row = await s.get(DoNotCall, phone)
            if row is not None:
                await s.delete(row)
            return row is not None
