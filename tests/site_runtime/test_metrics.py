"""The site's contact-center metrics, read back from the Prometheus registry while calls run
through the real site services (manual clock): each call counted once, by queue and outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from site_node.metrics import LIVE, call_outcome
from tests.site_runtime.harness import Harness


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await Harness.start(tmp_path)
    yield harness
    LIVE.detach(harness.runtime.site)
    await harness.stop()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_answered_call_is_counted_once_with_its_wait_and_handle_time(site: Harness) -> None:
    before = {
        "offered": sample("cc_calls_offered_total", queue="retail"),
        "answered": sample("cc_calls_total", queue="retail", outcome="answered"),
        "within": sample("cc_calls_answered_within_sl_total", queue="retail"),
        "waits": sample("cc_call_wait_seconds_count", queue="retail"),
        "wait_sum": sample("cc_call_wait_seconds_sum", queue="retail"),
        "handles": sample("cc_call_handle_seconds_count", queue="retail"),
        "handle_sum": sample("cc_call_handle_seconds_sum", queue="retail"),
    }
    agent = await site.agent("a-1", {"retail": 5})
    await site.queued_call("c-1", "retail")
    await site.advance(7)
    assert sample("cc_queue_waiting_calls", queue="retail") == 1
    assert sample("cc_queue_longest_wait_seconds", queue="retail") == pytest.approx(7)
    assert sample("cc_agents", state="not_ready") == 1

    site.runtime.desk.command_state(agent.session, "ready", None)
    await site.settle()
    await site.runtime.answer_call(agent.session, "c-1")
    await site.settle()
    assert sample("cc_queue_waiting_calls", queue="retail") == 0
    assert sample("cc_agents", state="on_call") == 1
    await site.advance(60)
    await site.runtime.hangup(agent.session, "done")
    await site.advance(30)  # wrap-up ends: the CDR is written again, the call is not counted again

    assert sample("cc_calls_offered_total", queue="retail") - before["offered"] == 1
    assert sample("cc_calls_total", queue="retail", outcome="answered") - before["answered"] == 1
    assert sample("cc_calls_answered_within_sl_total", queue="retail") - before["within"] == 1
    assert sample("cc_call_wait_seconds_count", queue="retail") - before["waits"] == 1
    assert sample("cc_call_wait_seconds_sum", queue="retail") - before["wait_sum"] == pytest.approx(7)
    assert sample("cc_call_handle_seconds_count", queue="retail") - before["handles"] == 1
    assert sample("cc_call_handle_seconds_sum", queue="retail") - before["handle_sum"] == pytest.approx(90)
    assert sample("cc_agents", state="ready") == 1


async def test_a_caller_who_hangs_up_in_the_queue_is_abandoned(site: Harness) -> None:
    before = sample("cc_calls_total", queue="loans", outcome="abandoned")
    lc = await site.queued_call("c-2", "loans")
    await site.advance(40)
    site.runtime.ending.end_call(lc, by="caller")
    await site.settle()
    assert sample("cc_calls_total", queue="loans", outcome="abandoned") - before == 1
    assert sample("cc_queue_waiting_calls", queue="loans") == 0


@pytest.mark.parametrize(
    ("cdr", "expected"),
    [
        ({"end_reason": "never_joined", "queue": "retail"}, None),  # not an offered call
        ({"end_reason": None, "queue": "retail"}, None),  # still live
        ({"end_reason": "abandoned_in_ivr", "queue": None}, ("none", "abandoned_in_ivr", None, False)),
        ({"end_reason": "error", "queue": "made-up"}, ("other", "error", None, False)),  # labels stay bounded
        (
            {"end_reason": "answered_completed", "queue": "retail", "queued_at": 10.0, "answered_at": 35.0},
            ("retail", "answered", 25.0, False),  # answered after the 20 s threshold
        ),
        (
            {"end_reason": "abandoned_in_queue", "queue": "retail", "queued_at": 10.0, "ended_at": 14.0},
            ("retail", "abandoned", 4.0, False),
        ),
    ],
)
def test_outcome_labels_are_bounded(cdr: dict[str, object], expected: tuple[object, ...] | None) -> None:
    outcome = call_outcome(cdr, {"retail": 20.0, "loans": 20.0})
    got = None if outcome is None else (outcome.queue, outcome.outcome, outcome.wait_s, outcome.within_sl)
    assert got == expected
