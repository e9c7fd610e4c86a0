"""The notifier: render, respect consent, deliver through a channel, retry with backoff.

Every notification is a row whose status moves ``pending -> sent`` or ``pending -> failed``
(after its last attempt, or at once for a permanent failure); one without the customer's
consent is recorded ``suppressed`` and never sent. Each final status is appended to the
customer's contact history (:class:`HistorySink`, implemented by the CRM). Retries are claimed
with a guarded update, so several replicas never send one notification twice at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from central.notify import tables
from central.notify.backoff import Backoff, next_delay
from central.notify.channels import Channel, Message
from central.notify.errors import DeliveryFailed, UnknownChannel
from central.notify.templates import render
from cluster.clock import Clock
from cluster.logs import log

_log = logging.getLogger(__name__)
CHANNELS = ("sms", "email")
CLAIM_S = 120.0  # a claimed retry is not claimed again for this long (a replica died mid-send)


class HistorySink(Protocol):
    """A customer's contact history (at central: :class:`central.crm.hooks.CrmLinks`). An entry
    has ``kind``, ``at`` and ``ref`` (the same ``(kind, ref)`` again updates it); the rest is shown."""

    async def append(self, customer_number: str, entry: Mapping[str, Any]) -> None: ...


class NoHistory:
    """No contact history (tests of a feature alone): the status stays in ``notifications`` only."""

    async def append(self, customer_number: str, entry: Mapping[str, Any]) -> None:
        return None


@dataclass(frozen=True)
class Notice:
    customer_number: str
    channel: str
    address: str
    template: str
    params: Mapping[str, str]
    language: str = "en"
    reference: str | None = None


def _entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the contact history shows of a notification (no address, no body)."""
    return {
        "kind": "notification",
        "ref": str(row["id"]),  # one timeline entry per notification, its final status
        "notification_id": row["id"],
        "channel": row["channel"],
        "template": row["template"],
        "language": row["language"],
        "reference": row["reference"],
        "status": row["status"],
        "attempts": row["attempts"],
        "at": row["updated_at"],
        "error": row["last_error"],
    }


@dataclass
class Notifier:
    engine: AsyncEngine
    channels: Mapping[str, Channel]
    clock: Clock
    history: HistorySink = field(default_factory=NoHistory)
    backoff: Backoff = field(default_factory=Backoff)

    async def notify(self, notice: Notice, *, consented: bool) -> dict[str, Any]:
        """Record and (with consent) deliver ``notice``; returns its row."""
        if notice.channel not in CHANNELS or notice.channel not in self.channels:
            raise UnknownChannel(f"no channel {notice.channel!r}; one of {sorted(self.channels)}")
        text = render(notice.template, notice.language, notice.params)
        now = self.clock.now()
        values = {
            "customer_number": notice.customer_number,
            "channel": notice.channel,
            "address": notice.address,
            "template": notice.template,
            "language": text.language,
            "reference": notice.reference,
            "subject": text.subject,
            "body": text.body,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "status": "pending" if consented else "suppressed",
            "next_attempt_at": now if consented else None,
        }
        async with self.engine.begin() as conn:
            result = await conn.execute(tables.notifications.insert().values(**values))
            key = result.inserted_primary_key
            assert key is not None
            row_id = int(key[0])
        row = await self._row(row_id)
        if not consented:
            log(
                _log,
                logging.INFO,
                "notification suppressed: no consent",
                notification_id=row_id,
                channel=notice.channel,
            )
            await self.history.append(notice.customer_number, _entry(row))
            return row
        return await self._attempt(row)

    async def _row(self, row_id: int) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            found = await conn.execute(sa.select(tables.notifications).where(tables.notifications.c.id == row_id))
            return dict(found.one()._mapping)

    async def _attempt(self, row: Mapping[str, Any]) -> dict[str, Any]:
        message = Message(row["id"], row["channel"], row["address"], row["subject"], row["body"])
        attempts = int(row["attempts"]) + 1
        changes: dict[str, Any]
        try:
            await self.channels[row["channel"]].deliver(message)
        except DeliveryFailed as exc:
            delay = None if exc.permanent else next_delay(self.backoff, attempts)
            now = self.clock.now()
            changes = {
                "status": "pending" if delay is not None else "failed",
                "last_error": exc.message[:300],
                "next_attempt_at": now + delay if delay is not None else None,
            }
            log(
                _log,
                logging.WARNING,
                "notification not delivered",
                notification_id=row["id"],
                attempts=attempts,
                retry_in_s=delay,
                error=exc.message,
            )
        else:
            now = self.clock.now()
            changes = {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
        async with self.engine.begin() as conn:
            await conn.execute(
                tables.notifications.update()
                .where(tables.notifications.c.id == row["id"])
                .values(attempts=attempts, updated_at=now, **changes)
            )
        updated = await self._row(int(row["id"]))
        if updated["status"] != "pending":
            await self.history.append(updated["customer_number"], _entry(updated))
        return updated

    async def retry_due(self) -> list[dict[str, Any]]:
        """Attempt every pending notification whose next attempt is due."""
        c = tables.notifications.c
        now = self.clock.now()
        async with self.engine.connect() as conn:
            due = [
                dict(r._mapping)
                for r in await conn.execute(
                    sa.select(tables.notifications)
                    .where(c.status == "pending", c.next_attempt_at <= now)
                    .order_by(c.next_attempt_at, c.id)
                    .limit(200)
                )
            ]
        done = []
        for row in due:
            async with self.engine.begin() as conn:  # claim it: another replica skips it
                claimed = await conn.execute(
                    tables.notifications.update()
                    .where(
                        c.id == row["id"],
                        c.status == "pending",
                        c.attempts == row["attempts"],
                        c.next_attempt_at == row["next_attempt_at"],
                    )
                    .values(next_attempt_at=now + CLAIM_S)
                )
            if claimed.rowcount == 1:
                done.append(await self._attempt(row))
        return done

    async def deliveries(
        self, *, reference: str | None = None, customer_number: str | None = None
    ) -> list[dict[str, Any]]:
        """The delivery status of notifications (for the contact history and the order's page)."""
        c = tables.notifications.c
        query = sa.select(
            c.id,
            c.channel,
            c.template,
            c.language,
            c.reference,
            c.status,
            c.attempts,
            c.last_error,
            c.created_at,
            c.sent_at,
            c.next_attempt_at,
        ).order_by(c.id)
        if reference is not None:
            query = query.where(c.reference == reference)
        if customer_number is not None:
            query = query.where(c.customer_number == customer_number)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
