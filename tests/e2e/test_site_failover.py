"""Site failover with real processes: SIGKILL a site with calls in queue and in talk; SIGSTOP
a site past its lease and resume it. Nothing is lost and nothing is served twice."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator

import aiohttp
import pandas as pd
import pytest

from central.stats.columns import READ_COLUMNS
from central.stats.kpi import compute_partial
from central.stats.params import KpiParams
from cluster.launcher import LocalCluster
from loadtests.failover_probes import EtcdTap, death_info, probe_counts
from tests.e2e.helpers import (
    agent_ready,
    call_to_queue,
    cdr,
    centrals,
    final_cdr,
    identified_call_in_pin_check,
    proc,
    running_cluster,
    wait_published,
)
from webrtc_client.audio import hears
from webrtc_client.client import AgentClient, ClientError, CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=3, centrals=2) as c:
        yield c


async def lookup(cluster: LocalCluster, call_id: str) -> dict[str, object]:
    async with aiohttp.ClientSession(headers=cluster.operator_headers()) as http, \
            http.get(f"{centrals(cluster)[1]}/v1/calls/{call_id}") as r:
        return await r.json()  # type: ignore[no-any-return]


async def back_together(caller: CustomerClient, agent: AgentClient, site: str) -> None:
    """The caller (440 Hz) and the agent (660 Hz) re-attached at ``site`` and hear each other."""
    async with asyncio.timeout(30):
        await asyncio.gather(caller.reattached.wait(), agent.reattached.wait())
    assert caller.site == agent.site == site
    assert caller.phone is not None and agent.phone is not None
    assert await hears(agent.phone.receiver, 440.0), "the agent does not hear the caller again"
    assert await hears(caller.phone.receiver, 660.0), "the caller is not back with the same agent"


async def hang_up(agent: AgentClient) -> None:
    try:
        await agent.hangup()
    except ClientError as exc:  # the caller's side ended it first (its CDR is checked after)
        assert exc.error_id == "call.unknown"


async def test_sigkill_site_with_queued_and_talking_calls(cluster: LocalCluster) -> None:
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    talking = await call_to_queue(cluster, "+8613700000000", 440.0)
    ring = await agent.wait_ringing()
    await agent.answer(ring["call_id"])
    assert talking.phone is not None and agent.phone is not None
    assert await hears(agent.phone.receiver, 440.0)
    queued = []
    for i in range(3):  # only branch-north staffs credit cards: these wait there, in this order
        queued.append(await call_to_queue(cluster, f"+861370000000{i + 1}", None))
    await wait_published(cluster, "branch-north", "credit_card", waiting=3)
    before = {c.call_id: await lookup(cluster, c.call_id) for c in [talking, *queued]}
    assert {b["site"] for b in before.values()} == {"branch-north"}

    proc(cluster, "branch-north").signal(signal.SIGKILL)

    # The talking call and its agent continue at the backup site, with each other.
    await back_together(talking, agent, "branch-south")

    # Every call reappears at a live site with the same id, priority and arrival time.
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.reattached.wait() for c in queued))
    for client in [talking, *queued]:
        now = await lookup(cluster, client.call_id)
        assert now["site"] == "branch-south" and now["failovers"] == 1
        assert now["original_arrival_at"] == before[client.call_id]["original_arrival_at"]
        assert now["priority"] == before[client.call_id]["priority"]

    # The queued calls are served in their original order by the re-attached agent.
    assert agent.sig is not None
    await hang_up(agent)
    await agent.wrap_up("resolved")
    served = []
    for _ in queued:
        ring = await agent.wait_ringing(30)
        served.append(ring["call_id"])
        assert ring["screen_pop"]["failovers"] == 1
        await agent.answer(ring["call_id"])
        await hang_up(agent)
        await agent.wrap_up("resolved")
    assert served == [c.call_id for c in queued]
    await asyncio.sleep(1.0)
    for client in [talking, *queued]:
        row = await final_cdr(cluster, "branch-south", client.call_id)
        assert row is not None and row["end_reason"] == "answered_completed" and row["failovers"] == 1
    for client in [talking, *queued, agent]:
        await client.close()


async def test_sigkill_is_confirmed_by_probe_and_calls_move_while_the_lease_still_lives(cluster: LocalCluster) -> None:
    """The clients' reconnects make central probe the dead site; the refused connections end
    its membership in central's fenced write (not by the lease running out), and only then are
    its calls moved: same ids, arrival times and priorities, the queue in its order."""
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    talking = await call_to_queue(cluster, "+8613400000000", 440.0)
    ring = await agent.wait_ringing()
    await agent.answer(ring["call_id"])
    queued = [await call_to_queue(cluster, f"+861340000000{i + 1}", None) for i in range(2)]
    await wait_published(cluster, "branch-north", "credit_card", waiting=2)
    before = {c.call_id: await lookup(cluster, c.call_id) for c in [talking, *queued]}
    assert cluster.etcd is not None
    tap = await EtcdTap(cluster.etcd.endpoints).start()
    try:
        proc(cluster, "branch-north").signal(signal.SIGKILL)
        await back_together(talking, agent, "branch-south")
        async with asyncio.timeout(30):
            await asyncio.gather(*(c.reattached.wait() for c in queued))
        gone, death = tap.site_gone("branch-north"), tap.death("branch-north")
        moves = tap.moves_from("branch-north")
    finally:
        await tap.stop()
    assert death is not None and gone is not None, "central did not confirm the death"
    assert gone.revision == death.revision, "the membership ended by the lease, not by the confirmation"
    info = death_info(death)
    assert info is not None and info["evidence"] == "connection refused x2" and info["lease"] > 0
    assert {r.call_id for _, r in moves} == set(before)
    assert all(s.revision > death.revision for s, _ in moves), "a call moved before the death was confirmed"
    assert (await probe_counts(centrals(cluster))).get("refused", 0) >= 2
    for client in [talking, *queued]:
        now = await lookup(cluster, client.call_id)
        assert now["site"] == "branch-south" and now["failovers"] == 1
        assert (now["original_arrival_at"], now["priority"]) == (
            before[client.call_id]["original_arrival_at"], before[client.call_id]["priority"])
    order = [r.call_id for _, r in sorted(moves, key=lambda m: m[0].revision)]
    assert [c for c in order if c != talking.call_id] == [c.call_id for c in queued]  # moved in serve order
    for client in [talking, *queued, agent]:
        await client.close()


async def test_paused_site_is_probed_but_failed_over_only_when_its_lease_expires(cluster: LocalCluster) -> None:
    """A SIGSTOPped site still accepts connections (the kernel does) but answers nothing: the
    probe says unresponsive, so central waits for the lease; a caller's reconnect meanwhile is
    held until the call has moved, and no call moves while the site's membership key lives."""
    agent = await agent_ready(cluster, "branch-north", "north-02", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    talking = await call_to_queue(cluster, "+8613200000000", 440.0)
    ring = await agent.wait_ringing()
    await agent.answer(ring["call_id"])
    waiting = await call_to_queue(cluster, "+8613200000001", None)
    await wait_published(cluster, "branch-north", "credit_card", waiting=1)
    north = proc(cluster, "branch-north")
    assert cluster.etcd is not None
    tap = await EtcdTap(cluster.etcd.endpoints).start()
    try:
        north.signal(signal.SIGSTOP)
        await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http:  # a caller who noticed the stall asks central
            answers: list[tuple[int, dict[str, object], float]] = []
            async with asyncio.timeout(20):
                while not answers or answers[-1][0] != 200:
                    async with http.post(f"{centrals(cluster)[0]}/v1/calls/{waiting.call_id}/reconnect",
                                         json={"token": waiting.token}) as r:
                        answers.append((r.status, await r.json(), time.monotonic()))
        gone = tap.site_gone("branch-north")
        assert gone is not None, "the lease of the paused site never expired"
        _, body, answered_at = answers[-1]
        assert body["site"] == "branch-south" and answered_at >= gone.at
        assert all(a[1].get("error_id") == "call.moving" for a in answers[:-1])
        moves = tap.moves_from("branch-north")
        assert tap.death("branch-north") is None, "a paused site was confirmed dead"
        assert moves and all(s.revision > gone.revision for s, _ in moves), "moved before the lease expired"
        probes = await probe_counts(centrals(cluster))
        assert probes.get("unresponsive", 0) >= 1 and probes.get("refused", 0) == 0
    finally:
        north.signal(signal.SIGCONT)
        await tap.stop()
    async with asyncio.timeout(30):
        await asyncio.gather(talking.reattached.wait(), agent.reattached.wait(), waiting.reattached.wait())
    assert talking.site == agent.site == waiting.site == "branch-south"
    for client in (talking, waiting, agent):
        await client.close()


async def test_sigkill_during_a_pin_check_returns_the_caller_to_the_same_agent(cluster: LocalCluster) -> None:
    """A call in a temporary IVR (C5c) is with its agent: failover brings the caller back to
    that agent at the backup site; the dialled number's flow does not start again, and the
    digits typed so far reach neither the agent nor a log."""
    agent = await agent_ready(cluster, "branch-north", "north-03", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    caller, _ = await identified_call_in_pin_check(cluster, agent, "+8613500000000")
    assert caller.phone is not None and agent.phone is not None and agent.sig is not None
    async with asyncio.timeout(10):
        while True:  # central is another process: ask it again (nothing pushes this to the test)
            if (await lookup(cluster, caller.call_id)).get("state") == "temporary_ivr":
                break
            await asyncio.sleep(0.1)
    await caller.press("1234", how="datachannel")  # half of the PIN, then the branch dies

    proc(cluster, "branch-north").signal(signal.SIGKILL)

    await back_together(caller, agent, "branch-south")
    await hang_up(agent)
    await agent.wrap_up("resolved")
    row = await final_cdr(cluster, "branch-south", caller.call_id)
    assert row is not None and row["resumed_from"] == "temporary_ivr" and row["agent_id"] == "north-03"
    assert row["flow_id"] is None, "the dialled number's flow started again at the backup site"
    assert "1234" not in json.dumps(agent.sig.received)
    for site in ("branch-north", "branch-south"):
        assert "1234" not in (cluster.base_dir / f"{site}.log").read_text()
    await caller.close()
    await agent.close()


async def test_kpis_after_a_failover_match_what_the_callers_observed(cluster: LocalCluster) -> None:
    """A talking and two queued calls at a site that is SIGKILLed: the CDRs where they end
    describe the whole calls, so the KPIs (wait from the first queue entry, talk from the
    first answer, the failover gap apart) agree with what the callers saw, on one clock."""
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    talking = await call_to_queue(cluster, "+8613300000000", 440.0)
    entered = {talking.call_id: time.time()}
    ring = await agent.wait_ringing()
    await agent.answer(ring["call_id"])
    assert talking.sig is not None
    await talking.sig.event("connected", timeout_s=10)
    answered = {talking.call_id: time.time()}
    queued = []
    for i in range(2):
        queued.append(await call_to_queue(cluster, f"+861330000000{i + 1}", None))
        entered[queued[-1].call_id] = time.time()  # as its "queued" event arrived
    await wait_published(cluster, "branch-north", "credit_card", waiting=2)
    await asyncio.sleep(2.0)  # they wait at north a while: that wait must not be forgotten

    killed = time.time()
    proc(cluster, "branch-north").signal(signal.SIGKILL)
    await back_together(talking, agent, "branch-south")
    outage = time.time() - killed
    await asyncio.sleep(2.0)
    await hang_up(agent)
    ended = {talking.call_id: time.time()}
    await agent.wrap_up("resolved")
    for client in queued:
        ring = await agent.wait_ringing(30)
        await agent.answer(ring["call_id"])
        assert client.sig is not None
        await client.sig.event("connected", timeout_s=10)
        answered[client.call_id] = time.time()
        await hang_up(agent)
        await agent.wrap_up("resolved")

    kpis = {}
    for client in [talking, *queued]:
        row = await final_cdr(cluster, "branch-south", client.call_id)
        assert row is not None and row["first_site"] == "branch-north" and row["failovers"] == 1
        frame = pd.DataFrame([{name: row[name] for name in READ_COLUMNS}])
        kpis[client.call_id] = compute_partial(frame, "branch-south", KpiParams()).calls.iloc[0]
    for call_id, kpi in kpis.items():
        observed_wait = answered[call_id] - entered[call_id]
        print(f"KPI-vs-observed {call_id[:8]} wait {kpi['wait_answered_ms'] / 1000:.2f} s vs {observed_wait:.2f} s,",
              f"talk {kpi['talk_ms'] / 1000:.2f} s, gap {kpi['failover_gap_ms'] / 1000:.2f} s (outage {outage:.2f} s)")
        assert abs(kpi["wait_answered_ms"] / 1000 - observed_wait) < 0.5, (call_id, kpi.to_dict(), observed_wait)
    talk = kpis[talking.call_id]
    connected_for = ended[talking.call_id] - answered[talking.call_id]
    assert abs((talk["talk_ms"] + talk["failover_gap_ms"]) / 1000 - connected_for) < 0.5
    assert abs(talk["failover_gap_ms"] / 1000 - outage) < 1.0, (talk["failover_gap_ms"], outage)
    for client in [talking, *queued, agent]:
        await client.close()


async def test_paused_site_drops_the_calls_it_lost_and_does_not_serve_them_twice(cluster: LocalCluster) -> None:
    agent = await agent_ready(cluster, "branch-north", "north-01", 660.0)
    await wait_published(cluster, "branch-north", "credit_card", ready=1)
    talking = await call_to_queue(cluster, "+8613600000000", 440.0)
    ring = await agent.wait_ringing()
    await agent.answer(ring["call_id"])
    waiting = await call_to_queue(cluster, "+8613600000001", None)
    north = proc(cluster, "branch-north")
    north.signal(signal.SIGSTOP)
    try:
        async with asyncio.timeout(20):  # the lease ends; central moves both calls to the backup
            while True:  # central is another process: ask it again (nothing pushes this to the test)
                if (await lookup(cluster, waiting.call_id)).get("site") != "branch-north":
                    break
                await asyncio.sleep(0.2)
    finally:
        north.signal(signal.SIGCONT)
    async with asyncio.timeout(30):
        await asyncio.gather(talking.reattached.wait(), agent.reattached.wait(), waiting.reattached.wait())
    assert talking.site == agent.site == waiting.site == "branch-south"
    assert talking.phone is not None and agent.phone is not None
    assert await hears(agent.phone.receiver, 440.0)
    assert await hears(talking.phone.receiver, 660.0)
    await asyncio.sleep(2.0)
    # North came back and let go: it ended its part as failed over, and serves neither call.
    for client in (talking, waiting):
        row = cdr(cluster, "branch-north", client.call_id)
        assert row is not None and row["end_reason"] == "failed_over"
    async with aiohttp.ClientSession(headers=cluster.operator_headers()) as http, \
            http.get(north.url + "/v1/status") as r:
        assert (await r.json())["calls"] == {}
    for client in (talking, waiting, agent):
        await client.close()
