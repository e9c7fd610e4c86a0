"""The call-time look-up: one statement gives the same view as the full read, on SQLite and a
real PostgreSQL; this replica's cache answers again until a write (or its TTL) clears it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from central.crm.importer import import_rows
from central.crm.lookup import LookupCache, compiled_lookup
from central.crm.normalise import customer_input, search_key
from central.crm.seed import seed_demo_customers
from cluster.clock import SYSTEM_CLOCK, ManualClock
from site_node.storage.hashing import account_number_hash, mask_account_number
from site_node.storage.seed import demo_bank
from tests.crm.conftest import SALT, CrmServer


async def _scenario(crm: CrmServer) -> None:
    assert crm.api.service is not None
    store = crm.api.service.store
    data = {"customer_number": "L1", "name": "Zoë Weber", "phones": ["+4917000011", "+4930000011"], "segment": "vip"}
    await store.create(customer_input(data), 1.0)
    digest = account_number_hash("5200123456789010", SALT.encode())
    await store.add_account("L1", "checking", mask_account_number("5200123456789010"), digest, "EUR")
    full = await store.get("L1")
    for by, value in (("phone", "+4930000011"), ("customer_number", "L1"), ("account_hash", digest)):
        assert await store.lookup(by, value) == [full], by
    assert await store.lookup("phone", "+4917999999") == []
    assert "pin_hash" not in full and full["accounts"][0]["masked_number"].endswith("9010")
    # one statement, the value its only parameter
    dialect = crm.api.db.engine.dialect  # type: ignore[union-attr]
    assert compiled_lookup(dialect, "phone").lstrip().upper().startswith("SELECT")

    # a write through this replica clears the cache: the edit is seen at once
    await store.replace("L1", customer_input({"name": "Zoë Weber-Kaya"}, base=await store.current("L1")), 2.0)
    assert (await store.lookup("phone", "+4930000011"))[0]["name"] == "Zoë Weber-Kaya"
    await store.deactivate("L1", 3.0)
    assert await store.lookup("phone", "+4930000011") == []  # a deactivated customer is no caller's


async def test_the_one_statement_look_up_equals_the_full_view_on_sqlite(crm: CrmServer) -> None:
    await _scenario(crm)


@pytest.mark.postgres
async def test_the_one_statement_look_up_equals_the_full_view_on_postgresql(crm_pg: CrmServer) -> None:
    await _scenario(crm_pg)


def test_the_cache_forgets_on_a_write_and_after_its_ttl() -> None:
    clock = ManualClock(100.0)
    cache = LookupCache(clock, size=2, ttl_s=2.0)
    cache.put("phone", "+1", [{"name": "A"}], cache.generation)
    assert cache.get("phone", "+1") == [{"name": "A"}]
    clock.advance(2.5)
    assert cache.get("phone", "+1") is None  # another replica's write shows after the TTL
    read_at = cache.generation
    cache.clear()  # a write while a read was under way: its stale answer is not kept
    cache.put("phone", "+1", [{"name": "old"}], read_at)
    assert cache.get("phone", "+1") is None
    for n in ("+1", "+2", "+3"):
        cache.put("phone", n, [], cache.generation)
    assert cache.get("phone", "+1") is None and cache.get("phone", "+3") == []  # bounded, LRU


async def test_the_name_index_follows_imports_re_imports_edits_and_the_demo_seed(crm: CrmServer) -> None:
    assert crm.api.service is not None and crm.api.db is not None
    store = crm.api.service.store

    async def names(query: str) -> list[str]:
        return sorted(c["customer_number"] for c in await store.search(name=query, limit=50))

    header = ["customer_number", "name"]
    await import_rows(store, SYSTEM_CLOCK, iter([header, ["I1", "Agnès Dubois"], ["I2", "Søren Kaya"]]))
    assert await names("agnes") == ["I1"] and await names("soren") == ["I2"]
    # a re-import renames one (its old name is gone from the index) and keeps the other
    await import_rows(store, SYSTEM_CLOCK, iter([header, ["I1", "Agnès Dubois"], ["I2", "Sören Weber"]]))
    assert await names("soren") == ["I2"] and await names("kaya") == [] and await names("weber") == ["I2"]
    await store.replace("I1", customer_input({"name": "Agnes Novak"}, base=await store.current("I1")), 5.0)
    assert await names("dubois") == [] and await names("novak") == ["I1"]
    await seed_demo_customers(crm.api.db.sessions, SALT.encode())
    await seed_demo_customers(crm.api.db.sessions, SALT.encode())  # idempotent: indexed once
    first = demo_bank().customers[0]
    word = search_key(first["name"]).split()[-1]
    hits = await store.search(name=word, limit=200)
    assert first["customer_number"] in {c["customer_number"] for c in hits}
    async with crm.api.db.engine.connect() as conn:  # the FTS5 index agrees with its content table
        await conn.execute(text("INSERT INTO crm_name_fts(crm_name_fts, rank) VALUES ('integrity-check', 1)"))
