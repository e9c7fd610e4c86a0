"""What a finished call tells the metrics: pure functions over its call detail record."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

NO_QUEUE = "none"  # the call never reached a queue (ended in the IVR)
OTHER_QUEUE = "other"  # a queue this site does not configure (labels stay bounded)

# CDR end reason -> outcome label. ``never_joined`` is not an offered call (the caller was
# routed here and never arrived) and is not counted.
OUTCOMES: dict[str, str] = {
    "answered_completed": "answered",
    "abandoned_in_queue": "abandoned",
    "abandoned_in_ivr": "abandoned_in_ivr",
    "voicemail": "voicemail",
    "callback_requested": "callback",
    "transferred_out": "transferred_out",
    "failed_over": "failed_over",
    "rejected": "rejected",
    "error": "error",
}


@dataclass(frozen=True, slots=True)
class CallOutcome:
    queue: str
    outcome: str
    wait_s: float | None  # queued until answered or until it left the queue
    within_sl: bool  # answered within the queue's service-level threshold


def queue_label(queue: str | None, known: Collection[str]) -> str:
    if not queue:
        return NO_QUEUE
    return queue if queue in known else OTHER_QUEUE


def call_outcome(cdr: Mapping[str, Any], sl_thresholds: Mapping[str, float]) -> CallOutcome | None:
    """The labels and durations of a finished call; ``None`` for a call that is not counted
    (still live, or never joined)."""
    outcome = OUTCOMES.get(str(cdr.get("end_reason")))
    if outcome is None:
        return None
    queue = queue_label(cdr.get("queue"), sl_thresholds)
    queued, answered, ended = cdr.get("queued_at"), cdr.get("answered_at"), cdr.get("ended_at")
    wait_s: float | None = None
    if queued is not None:
        left = answered if answered is not None else ended
        wait_s = max(0.0, float(left) - float(queued)) if left is not None else None
    threshold = sl_thresholds.get(queue)
    within = outcome == "answered" and wait_s is not None and threshold is not None and wait_s <= threshold
    return CallOutcome(queue, outcome, wait_s, within)


@dataclass(frozen=True, slots=True)
class QueueFigures:
    waiting: int
    longest_wait_s: float


def queue_figures(acd_snapshot: Mapping[str, Any]) -> dict[str, QueueFigures]:
    """Per queue, from the ACD's load snapshot (:meth:`site_node.acd.Acd.snapshot`)."""
    return {
        name: QueueFigures(int(q.get("waiting", 0)), float(q.get("longest_wait_s", 0.0)))
        for name, q in acd_snapshot.get("queues", {}).items()
    }
