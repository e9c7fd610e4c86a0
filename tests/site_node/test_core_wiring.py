"""The pure pieces wired together the way the site runtime drives them (no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests import bench_acd
from site_node import agent as ag
from site_node import call as cl
from site_node.acd import Acd, OfferCall, QueueConfig, Queued
from site_node.ivr import (
    EnqueueCall,
    LookupResult,
    PromptDone,
    SetCallData,
    load_demo_registry,
    start,
    step,
)

from .ivr_helpers import WEEKDAY_10AM

NOW = WEEKDAY_10AM


def test_inbound_call_through_ivr_queue_agent_and_cdr() -> None:
    registry = load_demo_registry()
    acd = Acd([QueueConfig("vip", "vip"), QueueConfig("retail", "retail")])
    agent = ag.Agent("a1")
    acd.add_agent("a1", {"vip": 8, "retail": 5})
    agent.apply(ag.Login(ready=True), NOW)
    call = cl.Call("c1", site="site-a", caller_number="13800000000", dialled_number="95588",
                   now=NOW)
    flow = registry.select("95588")
    call.apply(cl.StartIvr(flow.id, flow.version), NOW)
    s = start(flow, NOW, vars={"caller_number": call.caller_number})
    for event in (PromptDone(), LookupResult(True, "cust-1", "vip", "****1234")):
        s = step(flow, s.position, event, NOW + 5)
        for effect in s.effects:
            if isinstance(effect, SetCallData):
                call.apply(cl.SetData(effect.section, effect.key, effect.value), NOW + 5)
    (enqueue,) = [e for e in s.effects if isinstance(e, EnqueueCall)]
    call.apply(cl.Enqueue(enqueue.queue, enqueue.skill, enqueue.priority), NOW + 6)
    decisions = acd.on_call_arrival(call.call_id, enqueue.queue, NOW + 6,
                                    priority=enqueue.priority,
                                    original_arrival_at=call.original_arrival_at)
    assert [type(d) for d in decisions] == [Queued]  # the agent is not in the ACD's ready set
    (offer,) = acd.on_agent_ready("a1", NOW + 7, idle_since=agent.idle_since)
    assert isinstance(offer, OfferCall) and offer.agent_id == "a1"
    call.apply(cl.OfferToAgent(offer.agent_id), NOW + 7)
    agent.apply(ag.Offer(call.call_id, 15), NOW + 7)
    agent.apply(ag.Answer(call.call_id), NOW + 10)
    call.apply(cl.Answer(), NOW + 10)
    acd.record_answer(offer.queue, NOW + 10 - call.queued_at)  # type: ignore[operator]
    call.apply(cl.Hangup(), NOW + 100)
    agent.apply(ag.CallEnded(call.call_id, 20), NOW + 100)
    acd.release("a1")
    agent.apply(agent.due_event(NOW + 120) or ag.EndWrapUp(), NOW + 120)
    call.apply(cl.WrapUpEnded(), NOW + 120)
    acd.record_handle_time(offer.queue, 110.0)
    assert agent.state is ag.AgentState.READY
    cdr = cl.to_cdr(call)
    assert (cdr["queue"], cdr["priority"], cdr["customer_id"], cdr["agent_id"]) == (
        "vip", 10, "cust-1", "a1")
    assert cdr["end_reason"] == "answered_completed" and cdr["wrap_up_end_at"] == NOW + 120
    assert acd.snapshot(NOW + 120)["queues"]["vip"]["service_level"] == 1.0


def test_benchmark_runs_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert bench_acd.main(["--events", "2000", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    for key in ("decisions_per_s", "p99_decision_us", "bytes_per_waiting_call"):
        assert result[key] > 0
    assert result["waiting_calls"] == 5000 and result["agents"] == 500
