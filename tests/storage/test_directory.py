"""Agents (with hashed passwords and skill levels), skills and queues."""

from __future__ import annotations

import pytest

from site_node.storage import AgentView, QueueView, Storage, StorageError


async def _setup(storage: Storage) -> None:
    for skill in ("retail", "vip"):
        await storage.directory.save_skill(skill, f"{skill} banking")
    await storage.directory.save_agent(
        AgentView("north-04", "Ada Braun", "branch-north", "north-a", "agent", True,
                  {"retail": 7, "vip": 9}),
        password="s3cret-demo",
    )  # fmt: skip


async def test_agents_round_trip_with_skills(storage: Storage) -> None:
    await _setup(storage)

    agent = await storage.directory.agent("north-04")

    assert agent is not None
    assert (agent.site, agent.role, agent.skills) == ("branch-north", "agent",
                                                      {"retail": 7, "vip": 9})  # fmt: skip
    assert [a.id for a in await storage.directory.agents(site="branch-north")] == ["north-04"]
    assert await storage.directory.agents(site="branch-south") == []
    assert await storage.directory.skills() == {"retail": "retail banking", "vip": "vip banking"}


async def test_passwords_are_hashed_and_checked(storage: Storage) -> None:
    await _setup(storage)

    assert await storage.directory.authenticate("north-04", "s3cret-demo") is not None
    assert await storage.directory.authenticate("north-04", "wrong") is None
    assert await storage.directory.authenticate("nobody", "s3cret-demo") is None


async def test_skill_levels_are_one_to_ten(storage: Storage) -> None:
    await _setup(storage)

    await storage.directory.set_agent_skill("north-04", "vip", 10)
    with pytest.raises(StorageError) as caught:
        await storage.directory.set_agent_skill("north-04", "vip", 11)

    assert caught.value.error_id == "storage.bad_value"
    agent = await storage.directory.agent("north-04")
    assert agent is not None and agent.skills["vip"] == 10


async def test_queues_round_trip(storage: Storage) -> None:
    await _setup(storage)
    vip = QueueView("vip", "vip", 5, 10, 10.0, 120.0, 10, "queue", "retail")
    await storage.directory.save_queue(vip)
    await storage.directory.save_queue(QueueView("retail", "retail", 1, 0, 20.0, 300.0, 50,
                                                 "voicemail", None))  # fmt: skip

    assert await storage.directory.queue("vip") == vip
    assert [q.name for q in await storage.directory.queues()] == ["retail", "vip"]
    with pytest.raises(StorageError):
        await storage.directory.save_queue(QueueView("x", "vip", 1, 0, 1.0, 1.0, 1, "explode", None))
