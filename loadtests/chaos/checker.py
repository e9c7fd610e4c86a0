"""The checker: pure functions over what the system recorded.

Invariants (each returns its violations; an empty list is a pass):

* **one final outcome**: every call that got a call id (routed in etcd, or seen by a caller)
  has exactly one CDR row whose end reason is final (anything but ``failed_over``, which only
  says a site let the call go to another site);
* **routed once, by a leader**: every call's routing record was created once; every leader
  write (creation, move) carries the fencing token of the candidate that led at that revision,
  and a call's leader tokens never go backwards;
* **one agent at a time**: a call answered at two sites was let go (``failed_over``) by the
  first or had ended there before the second answered;
* **queue order kept**: in a queue at a site, a call is never offered after a call that arrived
  later (same priority) while it was already waiting there (``lost_queue_positions``); a call
  moved in from another site waits there from its first ``enqueue`` event at that site (its
  ``queued_at`` is its first queue entry anywhere: it was not waiting *there* before the move);
* **agents consistent**: no agent is left busy or ringing with no live call;
* **no false failover**: central ends a site's membership before its lease (a death confirmed
  by probe) only for a site whose process was really killed: every such confirmation falls
  within a ``kill_site`` fault of that very site (``false_failovers``), never in a pause or a
  network cut, whose sites are judged by their lease.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from loadtests.chaos.history import DeathEvent, ElectionEvent, RecordEvent
from site_node.call.events import TALKING_STATES

FINAL_EXCLUDED = frozenset({"failed_over"})
EPS = 1e-3


def final_outcomes(call_ids: Iterable[str], cdrs: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """Calls with zero (``lost``) or several (``duplicated``) final CDR rows."""
    lost, duplicated = [], []
    for call_id in sorted(set(call_ids)):
        finals = [r for r in cdrs.get(call_id, []) if r.get("end_reason") not in FINAL_EXCLUDED]
        if not finals:
            lost.append(call_id)
        elif len(finals) > 1:
            duplicated.append(call_id)
    return {"lost": lost, "duplicated": duplicated}


def leader_at(events: list[ElectionEvent]) -> list[tuple[int, int | None]]:
    """``[(revision, create revision of the leading key from that revision on)]``."""
    live: dict[str, int] = {}
    timeline: list[tuple[int, int | None]] = []
    for event in sorted(events, key=lambda e: e.revision):
        if event.deleted:
            live.pop(event.key, None)
        else:
            live.setdefault(event.key, event.create_revision)
        timeline.append((event.revision, min(live.values()) if live else None))
    return timeline


def _leader(timeline: list[tuple[int, int | None]], revision: int) -> int | None:
    current = None
    for rev, leader in timeline:
        if rev > revision:
            break
        current = leader
    return current


def routing(records: list[RecordEvent], election: list[ElectionEvent]) -> dict[str, list[str]]:
    """Calls created twice, leader writes not made by the leader, tokens going backwards."""
    timeline = leader_at(election)
    created: dict[str, int] = defaultdict(int)
    last_token: dict[str, int] = {}
    double_routed, not_leader, backwards = [], [], []
    for event in sorted(records, key=lambda e: e.revision):
        record = event.record
        if event.created:
            created[event.call_id] += 1
            if created[event.call_id] == 2:
                double_routed.append(event.call_id)
        if record is None:
            continue
        leader_write = event.created or record.state == "moving"
        if not leader_write:
            continue
        if _leader(timeline, event.revision) != record.fencing_token:
            not_leader.append(f"{event.call_id}@{event.revision}")
        if record.fencing_token < last_token.get(event.call_id, 0):
            backwards.append(event.call_id)
        last_token[event.call_id] = record.fencing_token
    return {"double_routed": double_routed, "written_by_non_leader": not_leader, "tokens_backwards": backwards}


def one_agent_at_a_time(cdrs: dict[str, list[dict[str, Any]]]) -> list[str]:
    bad = []
    for call_id, rows in cdrs.items():
        answered = sorted((r for r in rows if r.get("answered_at")), key=lambda r: r["answered_at"])
        for first, second in itertools.pairwise(answered):
            let_go = first.get("end_reason") == "failed_over"
            ended_before = first.get("ended_at") is not None and first["ended_at"] <= second["answered_at"] + EPS
            if not (let_go or ended_before):
                bad.append(call_id)
    return bad


def queue_order(cdrs: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """Pairs (earlier arrival, later arrival) where the later one was offered first while the
    earlier one was already waiting at the same site, queue and priority."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for rows in cdrs.values():
        for row in rows:
            resumed = row.get("resumed_from") in TALKING_STATES or any(
                other is not row and other.get("answered_at") and other["site"] != row["site"]
                and other["answered_at"] < (row.get("queued_at") or 0) for other in rows)
            if resumed:  # (the failed site's own row is missing when it was killed)
                continue  # a conversation carried on with its agent after a failover: no queue wait
            if row.get("queued_at") and row.get("queue"):
                groups[(row["site"], row["queue"], int(row.get("priority") or 0))].append(row)
    inversions = []
    for rows in groups.values():
        def first_offer(row: dict[str, Any]) -> float | None:
            return row.get("first_offered_at") or row.get("offered_at")

        offered = [r for r in rows if first_offer(r)]
        for early in rows:
            for late in offered:
                if late["original_arrival_at"] <= early["original_arrival_at"] + EPS:
                    continue
                late_offer = first_offer(late)
                assert late_offer is not None
                early_offer = first_offer(early)
                waiting_then = (early.get("enqueued_here_at") or early["queued_at"]) < late_offer - EPS
                still_waiting = early_offer is None or early_offer > late_offer + EPS
                left_later = early.get("ended_at") is None or early["ended_at"] > late_offer + EPS
                if waiting_then and still_waiting and left_later:
                    inversions.append((early["call_id"], late["call_id"]))
    return inversions


def agents_consistent(statuses: dict[str, dict[str, Any]]) -> list[str]:
    """Agents busy or ringing at a site with no such live call there."""
    bad = []
    for site, status in statuses.items():
        live = set(status.get("calls", {}))
        for agent_id, agent in status.get("agents", {}).items():
            if agent.get("state") in ("on_call", "on_hold", "reserved") and agent.get("call_id") not in live:
                bad.append(f"{site}:{agent_id}")
    return bad


def service_level_windows(outcomes: list[dict[str, Any]], threshold_s: float, window_s: float = 10.0
                          ) -> list[tuple[float, float, int]]:
    """``[(window start, service level, offered)]`` by the time callers entered the queue."""
    buckets: dict[int, list[bool]] = defaultdict(list)
    for outcome in outcomes:
        entered = outcome.get("queued_at")
        if entered is None or outcome.get("outcome") in ("unfinished",):
            continue
        good = outcome.get("outcome") == "answered" and (outcome.get("wait_s") or 0.0) <= threshold_s
        buckets[int(entered // window_s)].append(good)
    return [(k * window_s, sum(v) / len(v), len(v)) for k, v in sorted(buckets.items())]


def sl_dip(windows: list[tuple[float, float, int]], fault_at: float, *, before_s: float = 30.0,
           after_s: float = 60.0) -> float:
    """Baseline service level before a fault minus the worst window after it (>= 0)."""
    before = [(sl, n) for start, sl, n in windows if fault_at - before_s <= start < fault_at]
    after = [sl for start, sl, n in windows if fault_at <= start < fault_at + after_s and n > 0]
    total = sum(n for _, n in before)
    baseline = sum(sl * n for sl, n in before) / total if total else 1.0
    return round(max(0.0, baseline - min(after)) if after else 0.0, 3)


def false_failovers(deaths: Iterable[DeathEvent], faults: Iterable[dict[str, Any]], *, slack_s: float = 1.0
                    ) -> list[str]:
    """Deaths central confirmed for a site that was not killed at that moment (``faults``: the
    runner's records, with ``kind``, ``target``, ``at`` and ``healed_at``, wall clock)."""
    kills = [(f["target"], f["at"], f.get("healed_at") or f["at"] + 60.0) for f in faults
             if f["kind"] in ("kill_site", "restart_site")]
    bad = []
    for death in deaths:
        if not any(site == death.site and start - EPS <= death.confirmed_at <= end + slack_s
                   for site, start, end in kills):
            bad.append(f"{death.site}@{death.revision}")
    return bad
