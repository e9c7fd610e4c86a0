"""The audit trail (D3): who did what to what, when, at which site, hash-chained per site.

``audit(at=, actor=, action=, target=, details=, role=)`` appends one entry. Appends of one
site are serialised so the chain never forks: an asyncio lock within the process, and inside
the transaction a PostgreSQL advisory lock on the site's chain (SQLite transactions begin
``IMMEDIATE`` and so already hold the database's write lock) before the last hash is read.
Details pass the sensitive-data guard; the table refuses UPDATE and DELETE (migration 0006).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from site_node.storage._base import Repository, lock_key
from site_node.storage.chain import GENESIS, ChainReport, ChainRow, entry_hash, verify_chain
from site_node.storage.engine import check_url, create_engine, session_factory
from site_node.storage.errors import translate_errors
from site_node.storage.guard import check_not_sensitive
from site_node.storage.models import AuditEntry
from site_node.storage.records import AuditRecord

VERIFY_BATCH = 5000


class AuditRepository(Repository):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, site: str = "") -> None:
        super().__init__(sessions)
        self.site = site
        self._append = asyncio.Lock()

    async def audit(
        self,
        *,
        at: float,
        actor: str,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        role: str = "",
    ) -> int:
        """Append an entry to this site's chain (details go through the sensitive-data guard)."""
        payload = dict(details or {})
        check_not_sensitive(payload, "audit_log")
        actor, role, target = actor[:64], role[:20], None if target is None else target[:200]
        async with self._append, self._transaction("audit") as session:
            await lock_key(session, f"audit_log:{self.site}")
            last = select(AuditEntry.hash).where(AuditEntry.site == self.site).order_by(AuditEntry.id.desc()).limit(1)
            prev = (await session.scalar(last)) or GENESIS
            digest = entry_hash(prev, at, actor, role, self.site, action, target, payload)
            row = AuditEntry(at=at, actor=actor, role=role, site=self.site, action=action, target=target,
                             details=payload, prev_hash=prev, hash=digest)
            session.add(row)
            await session.flush()
            return row.id

    async def entries(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        after: tuple[float, int] | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Entries in arrival order, ``(at, id)``: ``at`` in ``[since, until)``, after the
        ``(at, id)`` of the previous page's last entry."""
        query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id).limit(limit)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        for column, value in ((AuditEntry.actor, actor), (AuditEntry.action, action), (AuditEntry.target, target)):
            if value is not None:
                query = query.where(column == value)
        if after is not None:
            at, entry_id = after
            query = query.where(or_(AuditEntry.at > at, and_(AuditEntry.at == at, AuditEntry.id > entry_id)))
        async with self._transaction("audit_entries") as session:
            return [
                AuditRecord(r.at, r.actor, r.action, r.target, dict(r.details), r.id, r.role, r.site, r.hash)
                for r in (await session.scalars(query)).all()
            ]

    async def chain_rows(self) -> list[ChainRow]:
        """Every entry of every site, in ``id`` order, as the chain sees it."""
        rows: list[ChainRow] = []
        last_id = 0
        async with self._transaction("audit_chain") as session:
            while True:
                query = select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(VERIFY_BATCH)
                batch = (await session.scalars(query)).all()
                if not batch:
                    return rows
                rows += [ChainRow(r.id, r.at, r.actor, r.role, r.site, r.action, r.target, dict(r.details),
                                  r.prev_hash, r.hash) for r in batch]  # fmt: skip
                last_id = batch[-1].id

    async def verify(self) -> ChainReport:
        return verify_chain(await self.chain_rows())


async def verify_database(url: str) -> ChainReport:
    """Walk the audit chains of the database at ``url`` (read only; no migration)."""
    engine = create_engine(check_url(url))
    try:
        async with translate_errors("audit_verify"):
            return await AuditRepository(session_factory(engine)).verify()
    finally:
        await engine.dispose()
