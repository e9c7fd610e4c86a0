"""The supervisor benchmark's matcher: a change counts once, when a view first shows it."""

from __future__ import annotations

from loadtests.bench_supervisor import Tracker, percentile


def _view(*rows: tuple[str, str, str | None]) -> dict[str, object]:
    return {"agents": [{"agent_id": a, "state": s, "reason": r} for a, s, r in rows]}


def test_a_change_is_timed_to_the_first_view_that_shows_it() -> None:
    tracker = Tracker()
    tracker.sent("a1", "not_ready", "lunch-1", at=10.0)
    tracker.seen(_view(("a1", "not_ready", "break-0")), at=10.1)  # the old reason: not yet
    tracker.seen(_view(("a1", "not_ready", "lunch-1")), at=10.3)
    tracker.seen(_view(("a1", "not_ready", "lunch-1")), at=10.6)  # seen already: not counted again
    assert [round(ms) for ms in tracker.latencies_ms] == [300]
    assert tracker.pending == {}


def test_refused_and_overtaken_changes_are_counted_not_timed() -> None:
    tracker = Tracker()
    tracker.sent("a1", "not_ready", "x-1", at=1.0)
    tracker.sent("a1", "not_ready", "x-2", at=2.0)  # x-1 never shown on its own
    tracker.sent("a2", "ready", None, at=2.0)
    tracker.refused("a2", "media.not_connected")
    assert (tracker.superseded, tracker.errors, list(tracker.pending)) == (1, {"media.not_connected": 1}, ["a1"])
    assert percentile([], 0.99) is None and percentile([5.0, 1.0, 9.0], 0.5) == 5.0
