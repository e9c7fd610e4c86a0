"""ACD micro-benchmark: ``python -m loadtests.bench_acd --json PATH``.

Builds one site's ACD with 500 agents, 50 queues and 5,000 waiting calls (every agent busy),
then drives a stream of events: an agent becomes ready (the ACD hands it the best waiting
call), a new call arrives (queued, or offered at once if an agent is free), and now and then
a timer tick (overflow steps, maximum waits). Each event processed is one routing decision;
its latency is measured individually; the elapsed time also includes the ticks (which are
not counted as decisions). Bytes per waiting call are measured with tracemalloc
on a separate build (tracemalloc slows everything, so never during the timed run).
"""

from __future__ import annotations

import argparse
import json
import random
import time
import tracemalloc
from pathlib import Path
from typing import Any

from site_node.acd import Acd, LimitAction, OfferCall, OverflowRule, QueueConfig

AGENTS = 500
QUEUES = 50
SKILLS = 25
WAITING = 5_000
T0 = 1_700_000_000.0


def build_queues() -> list[QueueConfig]:
    queues: list[QueueConfig] = []
    for i in range(QUEUES):
        skill = f"skill{i % SKILLS}"
        rules: tuple[OverflowRule, ...] = ()
        if i % 2 == 0:
            rules = (OverflowRule(after_s=60.0, min_level=1),
                     OverflowRule(after_s=120.0, add_queue=f"q{(i + 1) % QUEUES}"))
        queues.append(QueueConfig(
            name=f"q{i}", skill=skill, min_level=1 + (i % 3) * 2, overflow=rules,
            max_wait_s=1800.0, max_wait_action=LimitAction.CALLBACK,
        ))
    return queues


def build(rng: random.Random, waiting: int = WAITING) -> tuple[Acd, list[str], list[str]]:
    acd = Acd(build_queues())
    agent_ids = [f"a{i}" for i in range(AGENTS)]
    for agent_id in agent_ids:
        skills = {f"skill{s}": rng.randint(1, 10) for s in rng.sample(range(SKILLS), 4)}
        acd.add_agent(agent_id, skills)
    queue_names = [f"q{i}" for i in range(QUEUES)]
    for n in range(waiting):
        acd.on_call_arrival(f"call-{n}", rng.choice(queue_names), T0 + n * 0.01,
                            priority=rng.choice((0, 0, 0, 1, 2)))
    return acd, agent_ids, queue_names


def measure_bytes(seed: int) -> float:
    rng = random.Random(seed)
    acd, _, _ = build(rng, waiting=0)
    names = [f"q{i}" for i in range(QUEUES)]
    ids = [f"call-{n}" for n in range(WAITING)]  # ids exist before the ACD sees them
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for n, call_id in enumerate(ids):
        acd.on_call_arrival(call_id, names[n % QUEUES], T0 + n * 0.01, priority=n % 3)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert acd.waiting() == WAITING
    return grown / WAITING


def run(events: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    acd, agent_ids, queue_names = build(rng)
    busy: list[str] = list(agent_ids)
    now = T0 + WAITING * 0.01
    latencies: list[int] = []
    offers = 0
    next_call = WAITING
    perf = time.perf_counter_ns
    started = perf()
    for i in range(events):
        now += 0.005
        if i % 100 == 99:  # timers (overflow steps, max waits): timed, not counted
            for d in acd.tick(now):
                if isinstance(d, OfferCall):
                    offers += 1
                    busy.append(d.agent_id)
        t = perf()
        if i % 2 == 0 and busy:
            agent_id = busy.pop(rng.randrange(len(busy)))
            acd.release(agent_id)
            decisions = acd.on_agent_ready(agent_id, now)
        else:
            decisions = acd.on_call_arrival(f"call-{next_call}", rng.choice(queue_names),
                                            now, priority=rng.choice((0, 0, 0, 1, 2)))
            next_call += 1
        latencies.append(perf() - t)
        for d in decisions:
            if isinstance(d, OfferCall):
                offers += 1
                busy.append(d.agent_id)
    elapsed = (perf() - started) / 1e9
    latencies.sort()
    return {
        "decisions": len(latencies),
        "offers": offers,
        "elapsed_s": round(elapsed, 3),
        "decisions_per_s": round(len(latencies) / elapsed, 1),
        "p99_decision_us": round(latencies[int(len(latencies) * 0.99)] / 1000, 2),
        "p50_decision_us": round(latencies[len(latencies) // 2] / 1000, 2),
        "waiting_at_end": acd.waiting(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    result = run(args.events, args.seed)
    result["bytes_per_waiting_call"] = round(measure_bytes(args.seed), 1)
    result.update(agents=AGENTS, queues=QUEUES, waiting_calls=WAITING)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
