"""QA in the business database (real SQLite and PostgreSQL, migrated by Alembic): versioned forms,
scored evaluations with comments, the agent's response, results and calibration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from central.business.db import migrate
from central.qa.errors import BadAnswer, BadForm, NotYours, UnknownForm
from central.qa.store import QaStore
from site_node.storage.engine import create_engine, session_factory
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401
from tests.qa.test_scorecards import FORM

T0 = 1_700_000_000.0
GOOD = {"greet": True, "verify": True, "empathy": 4, "offer": True}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QaStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'business.db'}"
    else:
        server = str(request.getfixturevalue("postgres_url"))
        url = await create_database(server)
    await migrate(url)
    engine = create_engine(url)
    try:
        yield QaStore(session_factory(engine))
    finally:
        await engine.dispose()
        if request.param != "sqlite":
            await drop_database(server, url)


async def test_forms_are_versioned_and_a_bad_one_changes_nothing(store: QaStore) -> None:
    first = await store.publish_form("retail", FORM, "lead-1", T0)
    second = await store.publish_form("retail", {**FORM, "title": "Retail v2"}, "lead-1", T0 + 1)
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(BadForm):
        await store.publish_form("retail", {**FORM, "sections": []}, "lead-1", T0 + 2)
    assert (await store.form("retail")).title == "Retail v2"
    assert (await store.form("retail", 1)).title == "Retail banking calls"
    with pytest.raises(UnknownForm):
        await store.form("retail", 3)


async def test_evaluations_are_scored_answered_by_the_agent_and_summed_up(store: QaStore) -> None:
    form = await store.publish_form("retail", FORM, "lead-1", T0)
    call = {"call_id": "c1", "agent_id": "a1", "queue": "loans", "team": "t1"}
    notes = [{"at_s": 42.5, "text": "offered the card"}, {"at_s": 3, "text": "warm"}]
    first = await store.evaluate(form, call, "lead-1", GOOD, notes, T0)
    assert (first["score"], first["state"], [c["at_s"] for c in first["comments"]]) == (100.0, "submitted", [3, 42.5])
    failed = await store.evaluate(form, {**call, "call_id": "c2"}, "lead-2", {**GOOD, "verify": False}, [], T0 + 1)
    await store.evaluate(form, {**call, "call_id": "c3", "agent_id": "a2", "team": "t2"}, "lead-1",
                         {**GOOD, "empathy": 2}, [], T0 + 2)  # fmt: skip
    with pytest.raises(BadAnswer):
        await store.evaluate(form, call, "lead-1", GOOD, [{"at_s": -1, "text": "x"}], T0)

    with pytest.raises(NotYours):
        await store.respond(first["id"], "a2")
    assert (await store.respond(first["id"], "a1"))["state"] == "acknowledged"
    disputed = await store.respond(failed["id"], "a1", dispute="I did verify, at 0:40")
    assert (disputed["state"], disputed["response"]) == ("disputed", "I did verify, at 0:40")
    assert [e["call_id"] for e in await store.of_agent("a1")] == ["c1", "c2"]

    assert await store.results("agent_id", T0, T0 + 10) == [
        {"agent_id": "a1", "evaluations": 2, "mean_score": 50.0, "auto_failed": 1},
        {"agent_id": "a2", "evaluations": 1, "mean_score": 87.5, "auto_failed": 0}]  # fmt: skip
    assert [r["queue"] for r in await store.results("queue", T0, T0 + 10)] == ["loans"]
    assert await store.results("team", T0 + 2, T0 + 10) == [
        {"team": "t2", "evaluations": 1, "mean_score": 87.5, "auto_failed": 0}]  # fmt: skip


async def test_calibration_compares_every_evaluator_of_one_call(store: QaStore) -> None:
    form = await store.publish_form("retail", FORM, "lead-1", T0)
    call = {"call_id": "c1", "agent_id": "a1"}
    for evaluator, empathy in (("lead-1", 4), ("lead-2", 2), ("qa-1", 3)):
        await store.evaluate(form, call, evaluator, {**GOOD, "empathy": empathy}, [], T0)
    spread = await store.calibration("c1", form)
    assert (spread.scores, spread.range, spread.disagreements) == ((100.0, 87.5, 93.8), 12.5, ("empathy",))
