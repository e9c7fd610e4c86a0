"""Demo data: expected counts, deterministic, idempotent, and no full account number stored."""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner
from sqlalchemy import text as sql_text

from site_node.storage import Storage
from site_node.storage.engine import create_engine
from site_node.storage.migrate import migrate
from site_node.storage.seed import (
    DEMO_PASSWORD,
    DEMO_PIN,
    DEMO_SITES,
    demo_bank,
    seed_command,
    seed_site,
)

from .db_scan import all_values

EXPECTED = {"customers": 1000, "agents": 30, "skills": 5, "queues": 5}


def _sixteen_digit_windows(value: str) -> set[str]:
    """Every 16-digit substring of ``value``, also with spaces and dashes taken out."""
    windows: set[str] = set()
    for text in (value, re.sub(r"[\s-]", "", value)):
        for run in re.findall(r"\d{16,}", text):
            windows.update(run[i : i + 16] for i in range(len(run) - 15))
    return windows


async def test_seed_counts_and_no_full_account_number(db_url: str) -> None:
    bank = demo_bank()
    report = await seed_site(db_url, "branch-north")

    assert {k: report.counts[k] for k in EXPECTED} == EXPECTED
    assert report.counts["accounts"] == len(bank.accounts) > 1000
    assert sum(c["segment"] == "vip" for c in bank.customers) > 30
    assert {c["home_site"] for c in bank.customers} == set(DEMO_SITES)
    assert {a["site"] for a in bank.agents} == set(DEMO_SITES)

    full_numbers = {a.full_number for a in bank.accounts}
    values = await all_values(db_url)
    leaked = [v for v in values if full_numbers & _sixteen_digit_windows(v)]
    assert len(values) > 20_000
    assert leaked == []
    assert DEMO_PASSWORD not in values
    assert DEMO_PIN not in values


async def test_seeded_data_serves_the_site(db_url: str) -> None:
    await seed_site(db_url, "branch-south")
    await seed_site(db_url, "branch-south")  # idempotent
    bank = demo_bank()
    customer: dict[str, Any] = bank.customers[17]
    phone = next(p["number"] for p in bank.phones if p["customer_id"] == customer["id"])
    account = next(a for a in bank.accounts if a.customer_id == customer["id"])

    async with await Storage.open(db_url) as storage:
        assert await storage.customers.count() == 1000
        pins = [await storage.customers.verify_pin(c["id"], DEMO_PIN) for c in bank.customers[15:20]]
        pins.append(await storage.customers.verify_pin(customer["id"], "654321"))
        by_phone = await storage.customers.by_caller_number(phone)
        by_account = await storage.customers.by_account_number(account.full_number)
        agents = await storage.directory.agents(site="branch-south")
        signed_in = await storage.directory.authenticate("south-04", DEMO_PASSWORD)
        queues = {q.name for q in await storage.directory.queues()}
        again = await storage.directory.authenticate("south-04", DEMO_PASSWORD)
    # the seed's deterministic scrypt hashes were replaced by argon2id on first use
    values = await all_values(db_url)
    assert sum(v.startswith("$argon2id$") for v in values) == 6  # five PINs and one password
    assert again is not None

    assert by_phone is not None and by_phone.id == customer["id"]
    assert by_account is not None and by_account.id == customer["id"]
    assert by_account.home_site in DEMO_SITES
    assert len(agents) == 10
    assert {a.role for a in agents} >= {"manager", "team_leader", "agent"}
    assert signed_in is not None
    assert pins == [True] * 5 + [False]
    assert queues == {"retail", "credit_card", "loans", "vip", "english"}
    for skill in queues:  # every queue has agents to serve it at this site
        assert sum(skill in a.skills for a in agents if a.role != "manager") >= 2


def test_demo_bank_is_deterministic() -> None:
    demo_bank.cache_clear()
    first = demo_bank()
    demo_bank.cache_clear()
    assert demo_bank() == first


def test_seed_command_seeds_the_three_demo_sites(tmp_path: Any) -> None:
    result = CliRunner().invoke(seed_command, ["--all", "--data-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.db")) == sorted(f"{s}.db" for s in DEMO_SITES)
    assert result.output.count("customers 1000") == 3
    usage = CliRunner().invoke(seed_command, ["--data-dir", str(tmp_path)])
    assert usage.exit_code == 2


async def test_seeding_gives_demo_customers_without_a_pin_the_demo_pin(db_url: str) -> None:
    """A database seeded before PINs existed: its customers get the demo PIN, a set one stays."""
    first, second = demo_bank().customers[:2]
    await migrate(db_url, "0001_initial")
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sql_text("INSERT INTO customers (id, customer_number, name, segment, language) "
                         "VALUES (:id, :number, :name, :segment, :language)"),
                [{"id": c["id"], "number": c["customer_number"], "name": c["name"],
                  "segment": c["segment"], "language": c["language"]} for c in (first, second)],
            )  # fmt: skip
    finally:
        await engine.dispose()
    async with await Storage.open(db_url) as storage:
        await storage.customers.set_pin(second["id"], "2468")

    await seed_site(db_url, "branch-east")

    async with await Storage.open(db_url) as storage:
        assert await storage.customers.verify_pin(first["id"], DEMO_PIN)
        assert await storage.customers.verify_pin(second["id"], "2468")
        assert not await storage.customers.verify_pin(second["id"], DEMO_PIN)
        kept = await storage.customers.by_id(first["id"])
    assert kept is not None and kept.name == first["name"] and kept.home_site is None
