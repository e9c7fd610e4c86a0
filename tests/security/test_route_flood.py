"""Finding 9: route floods pollute the KPIs. Reproduced against a real cluster (two centrals,
one site) and refused: a flood of one caller number, and a flood of distinct numbers from one
address (through the follower, with a forged client-address header), are cut short with ``429
route.rate_limited`` and ``Retry-After`` while other callers still route; a refused request
leaves nothing behind; the calls that were routed but never joined end ``never_joined`` and the
KPIs do not count them as offered.

The local cluster exempts 127.0.0.1 (load tests run from there); the floods come from other
loopback addresses, which get the limits configured here."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pandas as pd
import pytest

from central.stats.columns import READ_COLUMNS
from central.stats.kpi import compute_partial
from central.stats.params import KpiParams
from cluster.launcher import LocalCluster
from loadtests.chaos.badinput import Answer, check_limited, flood_from
from tests.e2e.helpers import final_cdr, proc, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SITE = "branch-north"
LIMITS = {
    "CC_CENTRAL__ROUTE_LIMITS__PER_ADDRESS_CPS": "0.2",
    "CC_CENTRAL__ROUTE_LIMITS__PER_ADDRESS_BURST": "6",
    "CC_CENTRAL__ROUTE_LIMITS__PER_CALLER_CPS": "0.1",
    "CC_CENTRAL__ROUTE_LIMITS__PER_CALLER_BURST": "3",
    "CC_SITE__JOIN_TIMEOUT_S": "2",
}
ROUTED: list[str] = []  # call ids the floods got through, for the last test


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=2, extra_env=LIMITS) as c:
        yield c


def _central(cluster: LocalCluster, *, leader: bool) -> str:
    name = cluster.leader()
    assert name is not None
    return str(next(p.url for p in cluster.procs if p.role == "central" and (p.name == name) == leader))


def _routed(answers: list[Answer]) -> list[str]:
    ids = [body["call_id"] for status, body, _ in answers if status == 201]
    ROUTED.extend(ids)
    return ids


async def test_a_flood_of_one_caller_number_is_limited_and_other_callers_still_route(cluster: LocalCluster) -> None:
    leader = _central(cluster, leader=True)
    flood = [{"caller": "+8613700000000", "dialled": "95589", "request_id": f"f-{i}"} for i in range(30)]
    answers = await flood_from("127.0.0.2", leader, flood)
    assert check_limited(answers, "caller") is None, answers
    assert len(_routed(answers)) == 3  # the number's burst
    refused = next(body for status, body, _ in answers if status == 429)
    assert refused["details"]["retry_after_s"] > 0 and refused["message"]
    # another caller, from the same address and from another one, still routes
    for address, caller in (("127.0.0.2", "+8613700000001"), ("127.0.0.3", "+8613700000002")):
        (status, body, _), = await flood_from(address, leader, [{"caller": caller, "dialled": "95589"}])
        assert status == 201, body
        ROUTED.append(body["call_id"])


async def test_a_flood_from_one_address_through_the_follower_is_limited(cluster: LocalCluster) -> None:
    follower = _central(cluster, leader=False)
    forged = {"X-CC-Client": "127.0.0.1", "X-CC-Client-Mac": "0" * 32}  # pretending to be the exempt address
    flood = [{"caller": f"+86136{i:08d}", "dialled": "95589"} for i in range(30)]
    answers = await flood_from("127.0.0.4", follower, flood, headers=forged)
    assert check_limited(answers, "address") is None, answers
    assert len(_routed(answers)) == 6  # the address's burst, counted at the leader for the real address
    (status, body, _), = await flood_from("127.0.0.5", follower, [{"caller": "+8613600000000", "dialled": "95589"}])
    assert status == 201, body
    ROUTED.append(body["call_id"])


async def test_only_routed_calls_leave_records_and_those_never_joined_are_not_offered(cluster: LocalCluster) -> None:
    assert len(ROUTED) == 3 + 2 + 6 + 1, "run with the flood tests before it"
    rows = []
    for call_id in ROUTED:  # nobody joins: each is closed after the join timeout
        row = await final_cdr(cluster, SITE, call_id, timeout_s=20)
        assert row is not None and row["end_reason"] == "never_joined", row
        rows.append(row)
    db = cluster.base_dir / "data" / f"{SITE}.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from calls").fetchone()[0] == len(ROUTED)  # none for a refusal
    part = compute_partial(pd.DataFrame(rows)[list(READ_COLUMNS)], SITE, KpiParams())
    assert part.never_joined[SITE] == len(ROUTED) and not part.malformed
    assert int(part.calls["offered"].sum()) == 0 and int(part.calls["calls"].sum()) == 0
    assert proc(cluster, SITE).alive
