"""Contact-center metrics of a site, on its ``/metrics`` (``site.metrics.port`` to keep it internal).

Counted once per finished call, from its call detail record (:class:`CallMetrics`)::

    cc_calls_offered_total{queue}                 calls offered (never_joined is not offered)
    cc_calls_total{queue,outcome}                 answered, abandoned, abandoned_in_ivr, voicemail,
                                                  callback, transferred_out, failed_over, rejected, error
    cc_calls_answered_within_sl_total{queue}      answered within the queue's sl_threshold_s
    cc_call_wait_seconds{queue}                   histogram: queued -> answered / left the queue
    cc_call_handle_seconds{queue}                 histogram: answered -> end of after-call work

Read when scraped (:data:`LIVE`): ``cc_queue_waiting_calls{queue}``,
``cc_queue_longest_wait_seconds{queue}``, ``cc_agents{state}``. Events:
``cc_ivr_node_exits_total{flow,node}``, ``cc_recording_failures_total{stage}``. ``queue`` is a
queue the site configures, ``none`` (ended in the IVR) or ``other``; no call or agent ids.
Service level over a window is PromQL: ``increase(cc_calls_answered_within_sl_total[15m]) /
increase(cc_calls_offered_total[15m])`` (``deploy/prometheus/alerts.yml``).
"""

from site_node.metrics.outcomes import CallOutcome, QueueFigures, call_outcome, queue_figures
from site_node.metrics.prom import LIVE, CallMetrics, LiveFigures, ivr_node_left, recording_failed

__all__ = [
    "LIVE",
    "CallMetrics",
    "CallOutcome",
    "LiveFigures",
    "QueueFigures",
    "call_outcome",
    "ivr_node_left",
    "queue_figures",
    "recording_failed",
]
