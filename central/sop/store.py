"""The SOP tables through SQLAlchemy: definition versions, instances written with an optimistic
revision (one writer wins; the other gets ``sop.version_conflict``), and their history, written
in the same transaction as the state it led to. Nothing here decides; the service does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.sop.errors import UnknownSop, VersionConflict
from central.sop.models import SopDefinition, SopHistory, SopInstance
from site_node.storage.errors import Conflict, translate_errors

DEFINITION_FIELDS = ("key", "version", "title", "published_by", "published_at")
INSTANCE_FIELDS = ("id", "key", "version", "status", "at", "due_at", "call_id", "started_by", "created_at",
                   "updated_at", "revision")  # fmt: skip
HISTORY_FIELDS = ("seq", "at", "actor", "event", "element", "details")


@dataclass(frozen=True)
class Entry:
    """One event for the history."""

    at: float
    actor: str
    event: str
    element: str | None
    details: dict[str, Any]


def _view(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


class SopStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 reads: async_sessionmaker[AsyncSession] | None = None) -> None:  # fmt: skip
        self.sessions = sessions
        self.reads = reads or sessions
        # SQLite has one writer: queue this process's writers here rather than in SQLite's busy
        # handler, whose sleeps grow while it waits (as the work-order store does)
        bind = sessions.kw.get("bind")
        self._write_lock = asyncio.Lock() if bind is not None and bind.dialect.name == "sqlite" else None

    @contextlib.asynccontextmanager
    async def _writing(self, what: str) -> AsyncIterator[AsyncSession]:
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            await stack.enter_async_context(translate_errors(what))
            yield await stack.enter_async_context(self.sessions.begin())

    async def publish(self, key: str, title: str, document: dict[str, Any], actor: str, now: float) -> int:
        """The new version's number (one more than the newest)."""
        try:
            async with self._writing("sop_publish") as s:
                newest = await s.scalar(select(func.max(SopDefinition.version)).where(SopDefinition.key == key))
                version = (newest or 0) + 1
                s.add(SopDefinition(key=key, version=version, title=title, document=document, published_by=actor,
                                    published_at=now))  # fmt: skip
                return version
        except Conflict:
            raise VersionConflict(f"{key}: another version was published meanwhile; publish again", key=key) from None

    async def definition(self, key: str, version: int | None = None) -> dict[str, Any]:
        """A version (the newest when ``version`` is None) with its document."""
        async with translate_errors("sop_definition"), self.reads() as s:
            query = select(SopDefinition).where(SopDefinition.key == key)
            query = query.where(SopDefinition.version == version) if version else query
            row = await s.scalar(query.order_by(SopDefinition.version.desc()).limit(1))
            if row is None:
                which = f"version {version} of {key}" if version else key
                raise UnknownSop(f"no SOP definition {which}", key=key)
            return {**_view(row, DEFINITION_FIELDS), "document": row.document}

    async def definitions(self) -> list[dict[str, Any]]:
        """The newest version of every definition."""
        async with translate_errors("sop_definitions"), self.reads() as s:
            newest = (select(SopDefinition.key, func.max(SopDefinition.version).label("v"))
                      .group_by(SopDefinition.key).subquery())  # fmt: skip
            rows = await s.scalars(select(SopDefinition).join(newest, (SopDefinition.key == newest.c.key)
                                                              & (SopDefinition.version == newest.c.v))
                                   .order_by(SopDefinition.key))  # fmt: skip
            return [_view(r, DEFINITION_FIELDS) for r in rows]

    async def create(self, definition: dict[str, Any], state: dict[str, Any], call_id: str | None,
                     entry: Entry) -> int:  # fmt: skip
        async with self._writing("sop_start") as s:
            row = SopInstance(key=definition["key"], version=definition["version"], snapshot=definition["document"],
                              status=state["status"], at=state["at"], due_at=state["due_at"], state=state,
                              call_id=call_id, started_by=entry.actor, created_at=entry.at, updated_at=entry.at,
                              revision=1)  # fmt: skip
            s.add(row)
            await s.flush()
            s.add(SopHistory(instance_id=row.id, seq=1, at=entry.at, actor=entry.actor, event=entry.event,
                             element=entry.element, details=entry.details))  # fmt: skip
            return row.id

    async def instance(self, instance_id: int) -> dict[str, Any]:
        """The instance with its snapshot and engine state."""
        async with translate_errors("sop_instance"), self.reads() as s:
            row = await s.get(SopInstance, instance_id)
            if row is None:
                raise UnknownSop(f"no SOP instance {instance_id}", instance=instance_id)
            return {**_view(row, INSTANCE_FIELDS), "snapshot": row.snapshot, "state": row.state}

    async def save(self, instance: dict[str, Any], state: dict[str, Any], entries: Sequence[Entry]) -> int:
        """Write the new state over the revision read, and its history; the new revision."""
        async with self._writing("sop_save") as s:
            revision = instance["revision"]
            done = await s.execute(update(SopInstance).where(SopInstance.id == instance["id"],
                                                             SopInstance.revision == revision)
                                   .values(status=state["status"], at=state["at"], due_at=state["due_at"],
                                           state=state, updated_at=entries[-1].at, revision=revision + 1))  # fmt: skip
            if not done.rowcount:  # type: ignore[attr-defined]
                raise VersionConflict(f"SOP instance {instance['id']} changed meanwhile; read it again",
                                      instance=instance["id"])  # fmt: skip
            seq = await s.scalar(select(func.max(SopHistory.seq)).where(SopHistory.instance_id == instance["id"]))
            for i, entry in enumerate(entries, start=(seq or 0) + 1):
                s.add(SopHistory(instance_id=instance["id"], seq=i, at=entry.at, actor=entry.actor, event=entry.event,
                                 element=entry.element, details=entry.details))  # fmt: skip
            return revision + 1

    async def history(self, instance_id: int) -> list[dict[str, Any]]:
        async with translate_errors("sop_history"), self.reads() as s:
            rows = await s.scalars(select(SopHistory).where(SopHistory.instance_id == instance_id)
                                   .order_by(SopHistory.seq))  # fmt: skip
            return [_view(r, HISTORY_FIELDS) for r in rows]

    async def due(self, now: float, limit: int = 100) -> list[int]:
        """Running instances whose timer is due."""
        async with translate_errors("sop_due"), self.reads() as s:
            rows = await s.scalars(select(SopInstance.id).where(SopInstance.status == "running",
                                                                SopInstance.due_at <= now)
                                   .order_by(SopInstance.due_at).limit(limit))  # fmt: skip
            return list(rows)
