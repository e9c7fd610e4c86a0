"""What the edge tells operations: Prometheus metrics and the SIP ladder log.

Metrics (on the edge's ``/metrics``, ``sip.metrics.port``), read when scraped from the user
agent's counts and its live calls' relays (nothing is counted per packet in Prometheus)::

    cc_sip_requests_received_total{method}     requests from the carrier (INVITE, ACK, BYE, ...)
    cc_sip_responses_sent_total{method,code}   our responses, by the request's method and code
    cc_sip_calls_total{outcome}                new calls by how set-up ended (answered, 4xx/5xx code,
                                               cancelled)
    cc_sip_active_dialogs                      calls answered and not yet ended
    cc_sip_rtp_packets_total{direction}        relayed packets: to_site (the caller's voice),
                                               to_carrier (what the caller hears)
    cc_sip_rtp_lost_total{direction}           packets missing in the sequence each side sent
    cc_sip_rtp_jitter_ms{direction}            interarrival jitter (RFC 3550), worst live call

The ladder: one log line ``sip`` per message in or out (logger ``site_node.sip.ladder``), with
the SIP Call-ID, our call id once central has routed the call (the CDR's ``call_id``), the
direction (``dir``: in/out), the method or status (``sip``), the CSeq and the peer. No bodies and no caller numbers.
``grep <sip call id>`` over the edge's log gives the call's ladder.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cluster.logs import log

if TYPE_CHECKING:
    from site_node.sip.message import SipMessage
    from site_node.sip.ua import SipUserAgent

_ladder = logging.getLogger("site_node.sip.ladder")
DIRECTIONS = ("to_site", "to_carrier")


@dataclass
class SipCounts:
    """The user agent's counts; an ended call's RTP counts are added here when it ends."""

    requests: Counter[str] = field(default_factory=Counter)
    responses: Counter[tuple[str, int]] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    rtp_packets: Counter[str] = field(default_factory=Counter)
    rtp_lost: Counter[str] = field(default_factory=Counter)


class SipCollector(Collector):
    def __init__(self, ua: SipUserAgent) -> None:
        self._ua = ua

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        counts = self._ua.metrics
        requests = CounterMetricFamily("cc_sip_requests_received", "SIP requests received", labels=["method"])
        for method, n in sorted(counts.requests.items()):
            requests.add_metric([method], n)
        yield requests
        responses = CounterMetricFamily("cc_sip_responses_sent", "SIP responses sent", labels=["method", "code"])
        for (method, code), n in sorted(counts.responses.items()):
            responses.add_metric([method, str(code)], n)
        yield responses
        calls = CounterMetricFamily("cc_sip_calls", "new SIP calls by set-up outcome", labels=["outcome"])
        for outcome, n in sorted(counts.calls.items()):
            calls.add_metric([outcome], n)
        yield calls
        live = [call for call in self._ua.calls.values() if not call.ended.is_set()]
        yield GaugeMetricFamily("cc_sip_active_dialogs", "SIP calls answered and not ended",
                                value=sum(1 for call in live if call.state in ("answered", "confirmed")))  # fmt: skip
        packets = CounterMetricFamily("cc_sip_rtp_packets", "RTP packets relayed", labels=["direction"])
        lost = CounterMetricFamily("cc_sip_rtp_lost", "RTP packets missing in a sender's sequence",
                                   labels=["direction"])  # fmt: skip
        jitter = GaugeMetricFamily("cc_sip_rtp_jitter_ms", "RTP interarrival jitter, worst live call",
                                   labels=["direction"])  # fmt: skip
        for direction in DIRECTIONS:
            stats = [call.relay.stats[direction] for call in live]
            packets.add_metric([direction], counts.rtp_packets[direction] + sum(s.packets for s in stats))
            lost.add_metric([direction], counts.rtp_lost[direction] + sum(s.lost for s in stats))
            jitter.add_metric([direction], max((s.jitter_ms for s in stats), default=0.0))
        yield packets
        yield lost
        yield jitter


def register(ua: SipUserAgent) -> SipCollector:
    collector = SipCollector(ua)
    REGISTRY.register(collector)
    return collector


def unregister(collector: SipCollector | None) -> None:
    if collector is not None:
        REGISTRY.unregister(collector)


def ladder(message: SipMessage, direction: str, peer: tuple[str, int], call_id: str | None) -> None:
    """One line of the call's SIP ladder."""
    if not _ladder.isEnabledFor(logging.INFO):
        return
    what = message.method if message.method is not None else str(message.status)
    log(_ladder, logging.INFO, "sip", sip_call_id=message.call_id, call_id=call_id, dir=direction, sip=what,
        cseq=message.get("cseq"), peer=f"{peer[0]}:{peer[1]}")  # fmt: skip
