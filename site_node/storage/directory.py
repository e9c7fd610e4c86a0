"""Agents, skills and queues: the site's configuration of people and ACD (A1, A3, M5)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from sqlalchemy import delete, select, update

from site_node.storage._base import Repository, table_of, upsert
from site_node.storage.errors import NotFound, StorageError
from site_node.storage.hashing import hash_password, needs_rehash, verify_password
from site_node.storage.models import (
    AGENT_ROLES,
    OVERFLOW_ACTIONS,
    Agent,
    AgentSkill,
    Queue,
    Skill,
)
from site_node.storage.records import AgentView, QueueView


def _bad(message: str) -> StorageError:
    return StorageError(message, error_id="storage.bad_value", status=400)


def _check_level(skill: str, level: int) -> None:
    if not 1 <= level <= 10:
        raise _bad(f"agent_skills: level of {skill!r} must be 1-10, not {level}")


class DirectoryRepository(Repository):
    # -- agents ------------------------------------------------------------------------------
    async def save_agent(
        self, agent: AgentView, *, password: str | None = None, password_hash: str | None = None
    ) -> None:
        """Create or update an agent and replace their skills. A new agent needs a password."""
        if agent.role not in AGENT_ROLES:
            raise _bad(f"agents: role {agent.role!r} is not one of {AGENT_ROLES}")
        for skill, level in agent.skills.items():
            _check_level(skill, level)
        if password is not None:
            password_hash = await asyncio.to_thread(hash_password, password)
        row = {
            "id": agent.id,
            "name": agent.name,
            "site": agent.site,
            "team": agent.team,
            "role": agent.role,
            "active": agent.active,
        }
        async with self._transaction("save_agent") as session:
            existing = await session.get(Agent, agent.id)
            if existing is None and password_hash is None:
                raise _bad(f"agents: a new agent ({agent.id}) needs a password")
            row["password_hash"] = password_hash or (existing.password_hash if existing else "")
            await session.execute(upsert(session, table_of(Agent), ["id"]), [row])
            await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent.id))
            if agent.skills:
                await session.execute(
                    table_of(AgentSkill).insert(),
                    [{"agent_id": agent.id, "skill": s, "level": lv} for s, lv in agent.skills.items()],
                )

    async def agent(self, agent_id: str) -> AgentView | None:
        found = await self._agents(agent_id=agent_id)
        return found[0] if found else None

    async def agents(self, *, site: str | None = None) -> list[AgentView]:
        return await self._agents(site=site)

    async def authenticate(self, agent_id: str, password: str) -> AgentView | None:
        """The agent if the password matches and the agent is active, else ``None``."""
        async with self._transaction("authenticate") as session:
            row = await session.get(Agent, agent_id)
            stored = None if row is None or not row.active else row.password_hash
        if stored is None or not await asyncio.to_thread(verify_password, password, stored):
            return None
        if needs_rehash(stored):  # an older scheme or weaker parameters: upgrade now, transparently
            fresh = await asyncio.to_thread(hash_password, password)
            async with self._transaction("rehash_password") as session:
                await session.execute(
                    update(Agent).where(Agent.id == agent_id, Agent.password_hash == stored).values(password_hash=fresh)
                )
        return await self.agent(agent_id)

    async def set_agent_skill(self, agent_id: str, skill: str, level: int) -> None:
        _check_level(skill, level)
        async with self._transaction("set_agent_skill") as session:
            if await session.get(Agent, agent_id) is None:
                raise NotFound(f"agent {agent_id} does not exist", agent_id=agent_id)
            await session.execute(
                upsert(session, table_of(AgentSkill), ["agent_id", "skill"]),
                [{"agent_id": agent_id, "skill": skill, "level": level}],
            )

    async def _agents(self, *, agent_id: str | None = None, site: str | None = None) -> list[AgentView]:
        query = select(Agent).order_by(Agent.id)
        if agent_id is not None:
            query = query.where(Agent.id == agent_id)
        if site is not None:
            query = query.where(Agent.site == site)
        async with self._transaction("agents") as session:
            rows = (await session.scalars(query)).all()
            ids = [row.id for row in rows]
            skills = (await session.scalars(select(AgentSkill).where(AgentSkill.agent_id.in_(ids)))).all()
        levels: dict[str, dict[str, int]] = {i: {} for i in ids}
        for item in sorted(skills, key=lambda s: s.skill):
            levels[item.agent_id][item.skill] = item.level
        return [AgentView(r.id, r.name, r.site, r.team, r.role, r.active, levels[r.id]) for r in rows]

    # -- skills ------------------------------------------------------------------------------
    async def save_skill(self, name: str, description: str = "") -> None:
        async with self._transaction("save_skill") as session:
            await session.execute(
                upsert(session, table_of(Skill), ["name"]),
                [{"name": name, "description": description}],
            )

    async def skills(self) -> dict[str, str]:
        async with self._transaction("skills") as session:
            rows = (await session.scalars(select(Skill).order_by(Skill.name))).all()
            return {row.name: row.description for row in rows}

    # -- queues ------------------------------------------------------------------------------
    async def save_queue(self, queue: QueueView) -> None:
        if queue.overflow_action not in OVERFLOW_ACTIONS:
            raise _bad(f"queues: overflow action {queue.overflow_action!r} is not one of {OVERFLOW_ACTIONS}")
        _check_level(queue.skill, queue.min_level)
        row: Mapping[str, object] = {
            "name": queue.name,
            "skill": queue.skill,
            "min_level": queue.min_level,
            "priority": queue.priority,
            "service_level_s": queue.service_level_s,
            "max_wait_s": queue.max_wait_s,
            "max_length": queue.max_length,
            "overflow_action": queue.overflow_action,
            "overflow_target": queue.overflow_target,
        }
        async with self._transaction("save_queue") as session:
            await session.execute(upsert(session, table_of(Queue), ["name"]), [dict(row)])

    async def queues(self) -> list[QueueView]:
        async with self._transaction("queues") as session:
            rows = (await session.scalars(select(Queue).order_by(Queue.name))).all()
            return [_queue_view(row) for row in rows]

    async def queue(self, name: str) -> QueueView | None:
        async with self._transaction("queue") as session:
            row = await session.get(Queue, name)
            return None if row is None else _queue_view(row)


def _queue_view(row: Queue) -> QueueView:
    return QueueView(
        name=row.name,
        skill=row.skill,
        min_level=row.min_level,
        priority=row.priority,
        service_level_s=row.service_level_s,
        max_wait_s=row.max_wait_s,
        max_length=row.max_length,
        overflow_action=row.overflow_action,
        overflow_target=row.overflow_target,
    )
