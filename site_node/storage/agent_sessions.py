"""Agent state sessions: append-only rows of (agent, state, not-ready reason, start, end)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from site_node.storage._base import Repository, table_of
from site_node.storage.models import AgentSession
from site_node.storage.records import AgentSessionRecord


class AgentSessionRepository(Repository):
    async def append(self, records: Sequence[AgentSessionRecord]) -> None:
        """Insert a batch of closed sessions in one statement (one transaction)."""
        if not records:
            return
        rows = [
            {"site": r.site, "agent_id": r.agent_id, "state": r.state, "reason": r.reason,
             "started_at": r.started_at, "ended_at": r.ended_at}
            for r in records
        ]  # fmt: skip
        async with self._transaction("append_agent_sessions") as session:
            await session.execute(insert(table_of(AgentSession)), rows)

    async def list(self, agent_id: str | None = None) -> list[AgentSessionRecord]:
        query = select(AgentSession).order_by(AgentSession.id)
        if agent_id is not None:
            query = query.where(AgentSession.agent_id == agent_id)
        async with self._transaction("list_agent_sessions") as session:
            return [
                AgentSessionRecord(r.site, r.agent_id, r.state, r.started_at, r.ended_at, r.reason)
                for r in await session.scalars(query)
            ]
