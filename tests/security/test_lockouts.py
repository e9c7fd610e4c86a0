"""Finding 3: PIN and login lockouts.

A caller (or an agent re-sending the PIN check) could try PINs without limit, and anyone could
try agents' passwords without limit. Now failures are counted in etcd (every call, every site,
every process), a locked customer's PIN is not even checked, the agent learns "locked" (never
the digits), an authorised role lifts the lock, and all of it is audited. Logins answer
``429`` with ``Retry-After`` once an account or a client address is locked.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator

import aiohttp
import pytest

from cluster.clock import ManualClock
from cluster.errors import CallCenterError
from cluster.etcd import Etcd
from cluster.keys import Keyspace
from cluster.launcher import LocalCluster
from cluster.lockouts import LockoutPolicy, Lockouts, Strikes, strike
from tests.e2e.helpers import (
    a_customer,
    agent_ready,
    identified_call_in_pin_check,
    running_cluster,
    site_url,
    wait_published,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
SITE = "branch-north"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    env = {
        "CC_SITE__LOCKOUTS__PIN__MAX_FAILURES": "2",
        "CC_SITE__LOCKOUTS__LOGIN__MAX_FAILURES": "3",
        "CC_SITE__LOCKOUTS__LOGIN_ADDRESS__MAX_FAILURES": "6",
    }
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1, extra_env=env) as c:
        yield c


def audit_actions(cluster: LocalCluster) -> list[tuple[str, str, str]]:
    with sqlite3.connect(cluster.base_dir / "data" / f"{SITE}.db") as db:
        return db.execute("select actor, action, target from audit_log order by id").fetchall()


# ---- the rule, pure -------------------------------------------------------------------------
def test_failures_in_one_window_lock_and_a_lock_is_not_extended_by_more_failures() -> None:
    policy = LockoutPolicy(max_failures=3, window_s=60, lock_s=300)
    s = strike(policy, Strikes(), 0.0)
    s = strike(policy, s, 10.0)
    assert s.failures == 2 and s.retry_after(10.0) == 0
    s = strike(policy, s, 20.0)
    assert s.retry_after(20.0) == 300
    assert strike(policy, s, 100.0) == s  # failures while locked change nothing
    assert s.retry_after(320.0) == 0
    assert strike(policy, Strikes(failures=2, first_at=0.0), 61.0).failures == 1  # a new window


# ---- shared by every process: a real etcd --------------------------------------------------
async def test_two_sites_count_the_same_customers_failures_even_at_the_same_moment(
    etcd: Etcd, keyspace: Keyspace
) -> None:
    clock = ManualClock(1000.0)
    policy = LockoutPolicy(max_failures=5, window_s=600, lock_s=600)
    keys = keyspace
    north, south = (Lockouts(etcd, keys, "pin", policy, clock) for _ in range(2))
    await asyncio.gather(*(site.failed("C-1") for site in (north, south, north, south)))
    assert (await north._read("C-1"))[0].failures == 4  # compare-and-swap: none lost
    await south.failed("C-1")
    assert await north.retry_after("C-1") == 600
    with pytest.raises(CallCenterError) as refused:
        await north.check("C-1", "this customer's PIN")
    assert refused.value.error_id == "auth.locked" and refused.value.details["retry_after_s"] == 600
    assert [lock.subject for lock in await south.locked()] == ["C-1"]
    assert await south.unlock("C-1") and await north.retry_after("C-1") == 0


# ---- a real cluster ----------------------------------------------------------------------------
async def test_a_customer_is_locked_after_wrong_pins_the_agent_sees_locked_and_a_team_leader_unlocks(
    cluster: LocalCluster,
) -> None:
    customer_id, _ = a_customer(cluster)
    agent = await agent_ready(cluster, SITE, "north-06", 660.0)
    await wait_published(cluster, SITE, "credit_card", ready=1)
    customer, _ = await identified_call_in_pin_check(cluster, agent, "+8613900000031")
    assert customer.phone is not None and agent.sig is not None

    async def pin_check(*attempts: str) -> dict[str, object]:
        for attempt in attempts:
            await asyncio.sleep(1.5)  # the question (or "not correct") is playing; keys count from now
            customer.phone.send_tones(attempt + "#")  # type: ignore[union-attr]
        return (await agent.sig.event("ivr_result", timeout_s=40))["data"]  # type: ignore[union-attr]

    assert await pin_check("924681", "357913") == {"call_id": customer.call_id, "verified": False, "locked": True}
    # The right PIN now: not even checked, still locked (a lock is not an oracle).
    await asyncio.sleep(1.0)
    await agent.command({"type": "transfer", "target": "pin_verify", "target_kind": "ivr_return"})
    assert await pin_check("123456") == {"call_id": customer.call_id, "verified": False, "locked": True}

    async with aiohttp.ClientSession() as http:
        site = site_url(cluster, SITE)
        tokens = {}
        for person in ("north-05", "north-02"):  # an agent, a team leader
            async with http.post(site + "/v1/agents/login", json={"agent_id": person, "password": "demo"}) as r:
                tokens[person] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        async with http.get(site + "/v1/lockouts", headers=tokens["north-02"]) as r:
            locked = (await r.json())["locked"]
        assert [(lock["kind"], lock["subject"]) for lock in locked] == [("pin", customer_id)]
        async with http.delete(f"{site}/v1/lockouts/pin/{customer_id}", headers=tokens["north-05"]) as r:
            assert r.status == 403 and (await r.json())["error_id"] == "role.forbidden"
        async with http.delete(f"{site}/v1/lockouts/pin/{customer_id}", headers=tokens["north-02"]) as r:
            assert r.status == 200 and (await r.json())["unlocked"] is True

    await asyncio.sleep(1.0)
    await agent.command({"type": "transfer", "target": "pin_verify", "target_kind": "ivr_return"})
    assert await pin_check("123456") == {"call_id": customer.call_id, "verified": True, "locked": False}
    received = json.dumps(agent.sig.received)
    assert not any(pin in received for pin in ("924681", "357913", "123456"))
    await agent.hangup()
    await agent.wrap_up("verified")
    await agent.command({"type": "agent_state", "state": "logout"})
    await customer.close()
    await agent.close()
    actions = [(action, target) for _, action, target in audit_actions(cluster)]
    assert ("pin_locked", customer_id) in actions and ("pin_refused_locked", customer_id) in actions
    assert ("pin_unlocked", customer_id) in actions
    assert ("north-02", "pin_unlocked", customer_id) in audit_actions(cluster)


async def _login(
    http: aiohttp.ClientSession, cluster: LocalCluster, agent_id: str, password: str
) -> aiohttp.ClientResponse:
    async with http.post(site_url(cluster, SITE) + "/v1/agents/login",
                         json={"agent_id": agent_id, "password": password}) as r:
        await r.read()
        return r


async def test_an_account_is_locked_after_wrong_passwords_then_the_address_after_more(cluster: LocalCluster) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            assert (await _login(http, cluster, "north-07", "guess")).status == 401
        locked = await _login(http, cluster, "north-07", "demo")  # the right password: not even checked
        assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0
        assert (await _login(http, cluster, "north-08", "demo")).status == 200  # other accounts still log in
        # three more failures on other names lock the client address (6 in the window)
        for name in ("nobody-1", "nobody-2", "nobody-3"):
            assert (await _login(http, cluster, name, "guess")).status == 401
        refused = await _login(http, cluster, "north-08", "demo")
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
        operator = cluster.operator_headers()  # a manager, already logged in elsewhere
        for kind, subject in (("login_address", "127.0.0.1"), ("login", "north-07")):
            async with http.delete(f"{site_url(cluster, SITE)}/v1/lockouts/{kind}/{subject}", headers=operator) as r:
                assert (await r.json())["unlocked"] is True
        assert (await _login(http, cluster, "north-07", "demo")).status == 200
    actions = audit_actions(cluster)
    assert sum(1 for actor, action, _ in actions if (actor, action) == ("north-07", "login_failed")) == 3
    assert ("north-07", "login_locked", "north-07") in actions
    assert ("demo-operator", "login_address_unlocked", "127.0.0.1") in actions
