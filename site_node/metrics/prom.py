"""The site's contact-center metrics in Prometheus (labels bounded: queues the site configures,
outcomes, agent states, flow nodes; never a call id or an agent id)."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from site_node.agent.events import AgentState
from site_node.metrics.outcomes import CallOutcome, QueueFigures, call_outcome, queue_label

_DURATION_BUCKETS = (1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)

CALLS_OFFERED = Counter("cc_calls_offered", "calls offered at this site (counted when they end)", ["queue"])
CALLS = Counter("cc_calls", "calls that ended at this site, by queue and outcome", ["queue", "outcome"])
CALLS_WITHIN_SL = Counter(
    "cc_calls_answered_within_sl", "calls answered within their queue's service-level threshold", ["queue"]
)
WAIT = Histogram(
    "cc_call_wait_seconds", "time queued until answered or abandoned", ["queue"], buckets=_DURATION_BUCKETS
)
HANDLE = Histogram("cc_call_handle_seconds", "answer to end of after-call work", ["queue"], buckets=_DURATION_BUCKETS)
IVR_EXITS = Counter("cc_ivr_node_exits", "calls leaving an IVR node", ["flow", "node"])
RECORDING_FAILURES = Counter("cc_recording_failures", "recordings that could not be written", ["stage"])


class CallMetrics:
    """Counts each finished call once, from its CDR (the chokepoint every ending passes)."""

    def __init__(self, sl_thresholds: Mapping[str, float]) -> None:
        self._thresholds = dict(sl_thresholds)

    def set_threshold(self, queue: str, seconds: float) -> None:
        """An administrator changed the queue's service-level threshold: calls ending from now on."""
        self._thresholds[queue] = seconds

    def call_finished(self, cdr: Mapping[str, Any]) -> CallOutcome | None:
        outcome = call_outcome(cdr, self._thresholds)
        if outcome is None:
            return None
        CALLS_OFFERED.labels(outcome.queue).inc()
        CALLS.labels(outcome.queue, outcome.outcome).inc()
        if outcome.within_sl:
            CALLS_WITHIN_SL.labels(outcome.queue).inc()
        if outcome.wait_s is not None:
            WAIT.labels(outcome.queue).observe(outcome.wait_s)
        return outcome

    def wrapped_up(self, queue: str | None, handle_s: float) -> None:
        """An answered call's after-call work ended: its handle time (talk + hold + wrap-up)."""
        HANDLE.labels(queue_label(queue, self._thresholds)).observe(max(0.0, handle_s))


def ivr_node_left(flow: str, node: str) -> None:
    IVR_EXITS.labels(flow, node).inc()


def recording_failed(stage: str) -> None:
    RECORDING_FAILURES.labels(stage).inc()


@dataclass(frozen=True, slots=True)
class LiveFigures:
    queues: dict[str, QueueFigures] = field(default_factory=dict)
    agents: Tally[str] = field(default_factory=Tally)


class LiveCollector(Collector):
    """Gauges read when scraped from every attached site runtime (one per process in
    production; several in tests), summed::

        cc_queue_waiting_calls{queue}  cc_queue_longest_wait_seconds{queue}  cc_agents{state}
    """

    def __init__(self) -> None:
        self._sources: dict[str, Callable[[], LiveFigures]] = {}
        self._lock = threading.Lock()  # scrapes may run on another thread (metrics listener)

    def attach(self, key: str, source: Callable[[], LiveFigures]) -> None:
        with self._lock:
            self._sources[key] = source

    def detach(self, key: str) -> None:
        with self._lock:
            self._sources.pop(key, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            figures = [source() for source in self._sources.values()]
        waiting = GaugeMetricFamily("cc_queue_waiting_calls", "calls waiting in the queue", labels=["queue"])
        longest = GaugeMetricFamily(
            "cc_queue_longest_wait_seconds", "wait of the oldest call in the queue", labels=["queue"]
        )
        queues: dict[str, tuple[int, float]] = {}
        for fig in figures:
            for name, q in fig.queues.items():
                count, oldest = queues.get(name, (0, 0.0))
                queues[name] = (count + q.waiting, max(oldest, q.longest_wait_s))
        for name, (count, oldest) in sorted(queues.items()):
            waiting.add_metric([name], count)
            longest.add_metric([name], oldest)
        agents = GaugeMetricFamily("cc_agents", "agents logged in at this site, by state", labels=["state"])
        total: Tally[str] = Tally()
        for fig in figures:
            total.update(fig.agents)
        for state in AgentState:
            if state is not AgentState.LOGGED_OUT:
                agents.add_metric([state.value], total.get(state.value, 0))
        yield waiting
        yield longest
        yield agents


LIVE = LiveCollector()
REGISTRY.register(LIVE)
