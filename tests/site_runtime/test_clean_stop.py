"""A site stopped cleanly (SIGTERM, a rolling upgrade) leaves the cluster and central moves its
calls on: the calls it still holds are recorded as failed over here, so each call keeps exactly
one final outcome (the one where it ends)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from site_node.metrics import LIVE
from tests.site_runtime.harness import Harness


async def test_a_clean_stop_records_the_calls_it_holds_as_failed_over(tmp_path: Path) -> None:
    site = await Harness.start(tmp_path)
    try:
        agent = await site.agent("a-1", {"retail": 5})
        site.runtime.desk.command_state(agent.session, "ready", None)
        await site.settle()
        await site.queued_call("c-talking", "retail")
        await site.runtime.answer_call(agent.session, "c-talking")
        await site.queued_call("c-waiting", "retail")
        await site.advance(5)
    finally:
        LIVE.detach(site.runtime.site)
        await site.runtime.stop()
    with sqlite3.connect(tmp_path / f"{site.runtime.site}.db") as db:
        rows = dict(db.execute("SELECT call_id, end_reason FROM calls").fetchall())
    assert rows == {"c-talking": "failed_over", "c-waiting": "failed_over"}
