"""Outbound campaign benchmark: ``python -m loadtests.bench_campaign --json PATH [--quick]``.

Two measurements of the campaign core (``central/campaigns``: the dialler's decisions and the
contacts' attempt machine, both pure), no network:

* ``dial_decisions_per_s``: 10,000 pending contacts spread over four time zones with weekday
  calling hours, 200 free agents per round; each round the dialler decides and every decision
  is applied to its contact (``attempt_step``), until the list is spent. The figure is what
  the core sustains; the store and the trunk come on top of it.
* ``preview_offers_per_s``: the same through the product's path on a real SQLite business
  database (``CampaignService``: due contacts, do-not-call and consent checks, the optimistic
  offer): 50 agents at once each preview, dial and record an outcome until the list is spent;
  ``offer_conflicts`` counts contacts two agents raced for (each offered once all the same).
* ``abandon_rate``: a discrete-event simulation of a progressive campaign on an injected clock
  (30 agents, 4 simulated hours, 45 % of calls answered after 4-20 s of ringing, 10 % busy,
  the rest no answer after 30 s, talk 60-300 s plus 30 s wrap-up). A call answered with no
  agent free within 2 s is abandoned (the usual regulatory definition). ``abandon_rate`` is
  at ratio 1 (target <= 3 %); ``abandon_rate_by_ratio`` shows what over-dialling costs, with
  ``agent_occupancy_by_ratio`` the fraction of agent time spent on calls.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import heapq
import json
import random
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from central.business.db import BusinessDb, migrate
from central.campaigns.attempts import Answered, Contact, Dial, Outcome, Result, RetryPolicy, attempt_step
from central.campaigns.dialler import Candidate, DialPlan, Floor, Mode, decide
from central.campaigns.hours import ALWAYS, CallingHours
from central.campaigns.lists import ListEntry
from central.campaigns.service import CampaignService
from central.campaigns.store import CampaignStore
from cluster.clock import SYSTEM_CLOCK

T0 = 1_796_637_600.0  # Monday 2026-12-07 09:00 UTC
ZONES = ("Europe/Berlin", "Europe/London", "Asia/Shanghai", "Europe/Helsinki")
HOURS = CallingHours.parse({d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri")})
POLICY = RetryPolicy()
ABANDON_GRACE_S = 2.0


def decisions_per_s(contacts: int, agents: int) -> dict[str, Any]:
    state = {i: Contact() for i in range(contacts)}
    pending = [Candidate(i, ZONES[i % len(ZONES)]) for i in range(contacts)]
    free = [f"agent-{i}" for i in range(agents)]
    made, rounds = 0, 0
    started = time.perf_counter()
    while pending:
        out = decide(DialPlan(Mode.PROGRESSIVE, 1.0), HOURS, pending, Floor(free), T0)
        for d in out.actions:
            state[d.contact_id] = attempt_step(state[d.contact_id], Dial(d.agent), POLICY, T0)
        made += len(out.actions)
        pending = pending[len(out.actions) :]
        rounds += 1
    elapsed = time.perf_counter() - started
    return {"dial_decisions_per_s": round(made / elapsed), "decisions": made, "rounds": rounds}


class _NoCustomers:
    async def may_call(self, customer_numbers: Iterable[str]) -> Mapping[str, bool]:
        return {}


async def _preview_agent(service: CampaignService, campaign_id: int, agent: str) -> int:
    worked = 0
    while (offered := await service.preview(campaign_id, agent)) is not None:
        for step in ({"event": "dial"}, {"event": "answered"}, {"event": "outcome", "outcome": "reached"}):
            await service.step(campaign_id, offered["id"], step, agent)
        worked += 1
    return worked


async def preview_offers_per_s(contacts: int, agents: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/business.db"
        await migrate(url)
        db = BusinessDb(url)
        try:
            service = CampaignService(CampaignStore(db.sessions, db.reads), _NoCustomers(), SYSTEM_CLOCK)
            names = [f"agent-{i}" for i in range(agents)]
            every_day = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
            campaign = await service.create("bench", {"name": "bench", "hours": every_day, "agents": names})
            entries = [ListEntry(i, f"+4917{i:09d}", None, f"contact {i}", ZONES[i % len(ZONES)], i % 10, {})
                       for i in range(contacts)]  # fmt: skip
            await service.store.add_contacts(campaign["id"], entries, SYSTEM_CLOCK.now())
            await service.transition(campaign["id"], "start")
            started = time.perf_counter()
            worked = await asyncio.gather(*(_preview_agent(service, campaign["id"], a) for a in names))
            elapsed = time.perf_counter() - started
            progress = await service.store.progress(campaign["id"])
        finally:
            await db.close()
    return {"preview_offers_per_s": round(sum(worked) / elapsed, 1), "preview_contacts": contacts,
            "preview_agents": agents, "preview_worked": sum(worked),
            "preview_all_done": progress["states"] == {"done": contacts}}  # fmt: skip


@dataclasses.dataclass
class _Sim:
    rng: random.Random
    agents: int
    contacts: dict[int, Contact]
    pending: list[tuple[float, int]]
    free_at: dict[str, float]
    reserved: set[str] = dataclasses.field(default_factory=set)
    ringing: list[tuple[float, int, str | None, str]] = dataclasses.field(default_factory=list)  # heap
    answered: int = 0
    abandoned: int = 0
    busy_s: float = 0.0

    def dial(self, contact_id: int, agent: str | None, now: float) -> None:
        self.contacts[contact_id] = attempt_step(self.contacts[contact_id], Dial(agent), POLICY, now)
        if agent is not None:
            self.reserved.add(agent)
        roll = self.rng.random()
        fate, after = ("answer", self.rng.uniform(4, 20)) if roll < 0.45 else ("busy", 3.0) if roll < 0.55 else (
            "no_answer", 30.0)  # fmt: skip
        heapq.heappush(self.ringing, (now + after, contact_id, agent, fate))

    def settle(self, now: float) -> None:
        while self.ringing and self.ringing[0][0] <= now:
            at, contact_id, agent, fate = heapq.heappop(self.ringing)
            contact = self.contacts[contact_id]
            if agent is not None:
                self.reserved.discard(agent)
            if fate != "answer":
                self._retry(contact_id, Result(Outcome(fate)), at)
                continue
            self.answered += 1
            contact = attempt_step(contact, Answered(), POLICY, at)
            taker = agent or next((a for a, t in self.free_at.items() if t <= at + ABANDON_GRACE_S
                                   and a not in self.reserved), None)  # fmt: skip
            if taker is None:
                self.abandoned += 1
                self.contacts[contact_id] = contact
                self._retry(contact_id, Result(Outcome.ABANDONED), at)
                continue
            talk = self.rng.uniform(60, 300)
            self.free_at[taker] = max(at, self.free_at[taker]) + talk + 30
            self.busy_s += talk + 30
            self.contacts[contact_id] = attempt_step(contact, Result(Outcome.REACHED), POLICY, at + talk)

    def _retry(self, contact_id: int, result: Result, at: float) -> None:
        contact = self.contacts[contact_id] = attempt_step(self.contacts[contact_id], result, POLICY, at)
        if contact.state.value == "pending":
            heapq.heappush(self.pending, (contact.next_at, contact_id))


def simulate(ratio: float, *, agents: int, contacts: int, hours: float, seed: int = 7) -> dict[str, float]:
    sim = _Sim(random.Random(seed), agents, {i: Contact() for i in range(contacts)},
               [(0.0, i) for i in range(contacts)], {f"agent-{i}": T0 for i in range(agents)})  # fmt: skip
    heapq.heapify(sim.pending)
    plan, end = DialPlan(Mode.PROGRESSIVE, ratio), T0 + hours * 3600
    now = T0
    while now < end:
        sim.settle(now)
        free = [a for a, t in sim.free_at.items() if t <= now and a not in sim.reserved]
        reserved = sum(1 for r in sim.ringing if r[2] is not None)
        floor = Floor(free, ringing=len(sim.ringing), ringing_reserved=reserved)
        due: list[Candidate] = []
        while sim.pending and sim.pending[0][0] <= now and len(due) < 2 * agents:
            due.append(Candidate(heapq.heappop(sim.pending)[1], "Europe/Berlin"))
        out = decide(plan, ALWAYS, due, floor, now)
        for d in out.actions:
            sim.dial(d.contact_id, d.agent, now)
        for c in due[len(out.actions) :]:
            heapq.heappush(sim.pending, (0.0, c.id))
        now += 1.0
    return {"abandon_rate": round(sim.abandoned / max(1, sim.answered), 4), "answered": sim.answered,
            "occupancy": round(min(sim.busy_s, agents * hours * 3600) / (agents * hours * 3600), 3)}  # fmt: skip


def run(quick: bool) -> dict[str, Any]:
    result = decisions_per_s(2_000 if quick else 10_000, 200)
    result |= asyncio.run(preview_offers_per_s(200 if quick else 2_000, 10 if quick else 50))
    sim_hours, contacts = (0.5, 2_000) if quick else (4.0, 10_000)
    by_ratio: dict[str, float] = {}
    occupancy: dict[str, float] = {}
    for ratio in (1.0, 1.5, 2.0):
        figures = simulate(ratio, agents=30, contacts=contacts, hours=sim_hours)
        by_ratio[str(ratio)] = figures["abandon_rate"]
        occupancy[str(ratio)] = figures["occupancy"]
        if ratio == 1.0:
            result["answered_at_ratio_1"] = figures["answered"]
    result |= {"abandon_rate": by_ratio["1.0"], "abandon_rate_by_ratio": by_ratio,
               "agent_occupancy_by_ratio": occupancy, "quick": quick}  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--quick", action="store_true", help="smaller list and a shorter simulated day")
    args = parser.parse_args(argv)
    result = run(args.quick)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
