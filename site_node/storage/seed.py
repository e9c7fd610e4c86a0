"""Deterministic demo data: a bank with three branches, ~30 agents, ~1,000 customers.

``seed_site(url, site)`` migrates the database and loads the bank into it. Every site gets the
whole bank's reference data (customers, accounts, skills, queues, the agents of every demo
branch) so that calls and agents that fail over find their records; ``agents.site`` is the
agent's home branch. A site that is not a demo branch (``branch-4`` ...) also gets ten agents of
its own. Seeding is idempotent: rows that exist are left alone.

Demo sign-in: every demo agent's password is ``demo`` (stored as an scrypt hash, never in
clear); agent ids look like ``north-01`` .. ``north-10``, ``south-01`` .., ``east-01`` ..
(``-01`` is the branch manager, ``-02``/``-03`` team leaders, ``north-10`` the administrator).

Demo PIN: every demo customer's telephone-banking PIN is ``123456`` (:data:`DEMO_PIN`), the
six digits the IVR's ``pin_verify`` and ``balance_pin`` nodes ask for. It is stored as an scrypt
hash with a per-customer salt and cheaper parameters than real PINs (``n=2**10``, see
:data:`DEMO_PIN_SCRYPT_N`) so that 1,000 customers hash in well under a second. It is a fixed
value rather than one derived from the customer's data (say, the end of the customer number)
because a PIN that can be read off the stored record would make the hash pointless. Demo
customers that exist without a PIN (a database seeded before PINs existed) get it on the next
seeding; a PIN that is set is never overwritten.

Account numbers are generated (16 digits, Luhn-valid), stored masked and as a keyed hash with
:data:`~site_node.storage.hashing.DEMO_ACCOUNT_SALT`; :func:`demo_bank` returns the full
numbers so tests and demos can "type" them, but they never reach a table.

Command line (registered by the lead as ``callcenter seed``)::

    callcenter seed --site branch-north --database-url sqlite+aiosqlite:///data/branch-north.db
    callcenter seed --all --data-dir data
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from sqlalchemy import bindparam, func, select, update

from cluster.clock import SYSTEM_CLOCK, Clock
from site_node.storage._base import insert_ignore, table_of
from site_node.storage.audit import AuditRepository
from site_node.storage.engine import check_url, create_engine, default_database_url, session_factory
from site_node.storage.errors import StorageError, translate_errors
from site_node.storage.hashing import (
    DEMO_ACCOUNT_SALT,
    account_number_hash,
    check_pin,
    mask_account_number,
    scrypt_hash,
)
from site_node.storage.migrate import migrate
from site_node.storage.models import (
    Account,
    Agent,
    AgentSkill,
    Customer,
    CustomerPhone,
    Queue,
    Skill,
)

DEMO_SITES = ("branch-north", "branch-south", "branch-east")
DEMO_PASSWORD = "demo"
DEMO_PIN = "123456"
DEMO_PIN_SCRYPT_N = 2**10
DEMO_SEED = 20_261_124
DEMO_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: "created_at" of demo customers
CUSTOMER_COUNT = 1_000
AGENTS_PER_SITE = 10
SKILLS = {
    "retail": "everyday banking: balances, cards, transfers",
    "credit_card": "credit cards: limits, disputes, lost or stolen cards",
    "loans": "loans and mortgages",
    "vip": "private banking for VIP customers",
    "english": "service in English",
}
QUEUES: tuple[dict[str, Any], ...] = (
    {"name": "retail", "skill": "retail", "min_level": 1, "priority": 0, "service_level_s": 20.0,
     "max_wait_s": 300.0, "max_length": 50, "overflow_action": "voicemail",
     "overflow_target": None},
    {"name": "credit_card", "skill": "credit_card", "min_level": 2, "priority": 1,
     "service_level_s": 20.0, "max_wait_s": 240.0, "max_length": 30,
     "overflow_action": "queue", "overflow_target": "retail"},
    {"name": "loans", "skill": "loans", "min_level": 3, "priority": 0, "service_level_s": 30.0,
     "max_wait_s": 300.0, "max_length": 20, "overflow_action": "callback",
     "overflow_target": None},
    {"name": "vip", "skill": "vip", "min_level": 5, "priority": 10, "service_level_s": 10.0,
     "max_wait_s": 120.0, "max_length": 10, "overflow_action": "queue",
     "overflow_target": "retail"},
    {"name": "english", "skill": "english", "min_level": 3, "priority": 0,
     "service_level_s": 30.0, "max_wait_s": 300.0, "max_length": 20,
     "overflow_action": "voicemail", "overflow_target": None},
)  # fmt: skip
_FIRST = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hannah",
    "Ivan",
    "Jonas",
    "Katrin",
    "Lukas",
    "Maria",
    "Nils",
    "Olga",
    "Paul",
    "Rosa",
    "Sven",
    "Tanja",
    "Uwe",
    "Vera",
    "Walter",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Ahmet",
    "Lena",
    "Marco",
    "Nora",
    "Omar",
)
_LAST = (
    "Schmidt",
    "Novak",
    "Meyer",
    "Weber",
    "Fischer",
    "Kovacs",
    "Wagner",
    "Becker",
    "Rossi",
    "Hoffmann",
    "Klein",
    "Wolf",
    "Neumann",
    "Schulz",
    "Jansen",
    "Braun",
    "Kaya",
    "Lange",
    "Kruger",
    "Hartmann",
    "Peters",
    "Yilmaz",
    "Vogel",
    "Silva",
    "Roth",
    "Brandt",
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    customer_id: str
    kind: str
    full_number: str  # never stored: only masked and hashed
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class DemoBank:
    customers: tuple[dict[str, Any], ...]
    phones: tuple[dict[str, Any], ...]
    accounts: tuple[DemoAccount, ...]
    agents: tuple[dict[str, Any], ...]
    agent_skills: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class SeedReport:
    site: str
    url: str
    counts: dict[str, int] = field(default_factory=dict)


def _short(site: str) -> str:
    return site.removeprefix("branch-")


def _luhn_complete(partial: str) -> str:
    total = 0
    for index, char in enumerate(reversed(partial)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return partial + str((10 - total % 10) % 10)


@functools.cache
def _demo_password_hash(agent_id: str) -> str:
    salt = hashlib.sha256(f"demo-salt:{agent_id}".encode()).digest()[:16]
    return scrypt_hash(DEMO_PASSWORD, salt)  # deterministic; re-hashed with argon2id on first login


@functools.cache
def _demo_pin_hash(customer_id: str) -> str:
    salt = hashlib.sha256(f"demo-pin-salt:{customer_id}".encode()).digest()[:16]
    return scrypt_hash(check_pin(DEMO_PIN), salt, n=DEMO_PIN_SCRYPT_N)  # re-hashed on first use


def _demo_pin_hashes(customers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"customer_id": c["id"], "demo_pin_hash": _demo_pin_hash(c["id"])} for c in customers]


def site_agents(site: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ten agents of ``site`` and their skills, determined by the site name alone."""
    rng = random.Random(f"{DEMO_SEED}:{site}")
    short = _short(site)
    agents: list[dict[str, Any]] = []
    levels: dict[str, dict[str, int]] = {}
    for n in range(1, AGENTS_PER_SITE + 1):
        agent_id = f"{short}-{n:02d}"
        role = "manager" if n == 1 else "team_leader" if n in (2, 3) else "agent"
        if site == "branch-north" and n == AGENTS_PER_SITE:
            role = "admin"
        team = None if role in ("manager", "admin") else f"{short}-{'a' if n % 2 == 0 else 'b'}"
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        agents.append(
            {"id": agent_id, "name": name, "site": site, "team": team, "role": role,
             "password_hash": _demo_password_hash(agent_id), "active": True}
        )  # fmt: skip
        mine = {"retail": rng.randint(3, 10)}
        for skill, share, low in (("credit_card", 0.6, 2), ("loans", 0.4, 3), ("vip", 0.25, 6),
                                  ("english", 0.3, 3)):  # fmt: skip
            if rng.random() < share:
                mine[skill] = rng.randint(low, 10)
        levels[agent_id] = mine
    takers = [a["id"] for a in agents if a["role"] in ("agent", "team_leader")]
    for skill in SKILLS:  # every queue is served by at least two agents at every site
        having = [i for i in takers if skill in levels[i]]
        for agent_id in [i for i in takers if i not in having][: max(0, 2 - len(having))]:
            levels[agent_id][skill] = 6
    skills = [
        {"agent_id": agent_id, "skill": skill, "level": level}
        for agent_id, mine in levels.items()
        for skill, level in sorted(mine.items())
    ]
    return agents, skills


@functools.cache
def demo_bank(seed: int = DEMO_SEED) -> DemoBank:
    """The demo bank, identical on every call and every machine."""
    rng = random.Random(seed)
    customers: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    accounts: list[DemoAccount] = []
    numbers = rng.sample(range(10_000_000, 100_000_000), CUSTOMER_COUNT)
    used_phones: set[str] = set()
    used_accounts: set[str] = set()

    def phone(prefix: str, digits: int) -> str:
        while True:
            candidate = prefix + "".join(rng.choices("0123456789", k=digits))
            if candidate not in used_phones:
                used_phones.add(candidate)
                return candidate

    def account_number(prefix: str) -> str:
        while True:
            partial = prefix + "".join(rng.choices("0123456789", k=15 - len(prefix)))
            full = _luhn_complete(partial)
            if full not in used_accounts:
                used_accounts.add(full)
                return full

    for i in range(CUSTOMER_COUNT):
        customer_id = f"cust-{i + 1:05d}"
        draw = rng.random()
        segment = "vip" if draw < 0.08 else "business" if draw < 0.15 else "retail"
        customers.append(
            {"id": customer_id, "customer_number": str(numbers[i]),
             "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", "segment": segment,
             "home_site": rng.choice(DEMO_SITES),
             "language": "en" if rng.random() < 0.15 else "de",
             "created_at": DEMO_EPOCH + i * 60.0}
        )  # fmt: skip
        phones.append({"customer_id": customer_id, "number": phone("+4917", 8), "kind": "mobile"})
        if rng.random() < 0.4:
            phones.append({"customer_id": customer_id, "number": phone("+4930", 7), "kind": "landline"})
        accounts.append(DemoAccount(customer_id, "checking", account_number("52")))
        if rng.random() < 0.5:
            accounts.append(DemoAccount(customer_id, "savings", account_number("53")))
        if rng.random() < 0.3 or segment == "vip":
            accounts.append(DemoAccount(customer_id, "credit_card", account_number("4")))
    agents: list[dict[str, Any]] = []
    agent_skills: list[dict[str, Any]] = []
    for site in DEMO_SITES:
        site_rows, skill_rows = site_agents(site)
        agents += site_rows
        agent_skills += skill_rows
    return DemoBank(tuple(customers), tuple(phones), tuple(accounts), tuple(agents),
                    tuple(agent_skills))  # fmt: skip


def _account_rows(accounts: Sequence[DemoAccount], salt: bytes) -> list[dict[str, Any]]:
    return [
        {"customer_id": a.customer_id, "kind": a.kind,
         "masked_number": mask_account_number(a.full_number),
         "number_hash": account_number_hash(a.full_number, salt), "currency": a.currency}
        for a in accounts
    ]  # fmt: skip


_SET_MISSING_PIN = (
    update(table_of(Customer))
    .where(table_of(Customer).c.id == bindparam("customer_id"), table_of(Customer).c.pin_hash.is_(None))
    .values(pin_hash=bindparam("demo_pin_hash"))
)
_COUNTED = (Customer, CustomerPhone, Account, Agent, AgentSkill, Skill, Queue)


async def seed_site(
    url: str,
    site_name: str,
    *,
    account_salt: bytes = DEMO_ACCOUNT_SALT,
    clock: Clock = SYSTEM_CLOCK,
) -> SeedReport:
    """Migrate the database at ``url`` and load the demo bank for ``site_name`` into it."""
    checked = check_url(url)
    await migrate(checked)
    bank = await asyncio.to_thread(demo_bank)
    pins = await asyncio.to_thread(_demo_pin_hashes, bank.customers)
    agents, agent_skills = list(bank.agents), list(bank.agent_skills)
    if site_name not in DEMO_SITES:
        extra_agents, extra_skills = await asyncio.to_thread(site_agents, site_name)
        agents += extra_agents
        agent_skills += extra_skills
    batches: list[tuple[Any, list[str], list[dict[str, Any]]]] = [
        (Skill, ["name"], [{"name": k, "description": v} for k, v in SKILLS.items()]),
        (Queue, ["name"], [dict(q) for q in QUEUES]),
        (Agent, ["id"], agents),
        (AgentSkill, ["agent_id", "skill"], agent_skills),
        (Customer, ["id"], [{**c, "pin_hash": p["demo_pin_hash"]} for c, p in zip(bank.customers, pins, strict=True)]),
        (CustomerPhone, ["customer_id", "number"], list(bank.phones)),
        (Account, ["number_hash"], _account_rows(bank.accounts, account_salt)),
    ]
    engine = create_engine(checked)
    counts: dict[str, int] = {}
    try:
        async with translate_errors("seed"), engine.begin() as connection:
            for model, keys, rows in batches:
                table = table_of(model)
                stmt = insert_ignore(connection, table, keys)
                for start in range(0, len(rows), 500):
                    await connection.execute(stmt, rows[start : start + 500])
            await connection.execute(_SET_MISSING_PIN, pins)
        # through the repository: the entry joins the site's hash chain like any other
        await AuditRepository(session_factory(engine), site=site_name).audit(
            at=clock.now(), actor="seed", role="", action="seed_demo_data", target=site_name,
            details={"customers": len(bank.customers)},
        )
        async with translate_errors("seed"), engine.connect() as connection:
            for model in _COUNTED:
                query = select(func.count()).select_from(table_of(model))
                counts[table_of(model).name] = int((await connection.execute(query)).scalar_one())
    finally:
        await engine.dispose()
    return SeedReport(site_name, checked, counts)


@click.command("seed")
@click.option("--site", "site", default=None, help="the site to seed (e.g. branch-north)")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: SQLite in --data-dir)")
@click.option("--all", "all_sites", is_flag=True, help=f"seed the demo sites {', '.join(DEMO_SITES)}")
@click.option("--data-dir", default="data", show_default=True, help="where SQLite files go")
@click.option("--account-key", envvar="CC_SITE__ACCOUNT_HASH_KEY", default=None,
              help="the sites' account-hash key (default: CC_SITE__ACCOUNT_HASH_KEY, else the demo key)")
def seed_command(
    site: str | None, database_url: str | None, all_sites: bool, data_dir: str, account_key: str | None
) -> None:
    """Load the demo bank (customers, accounts, agents, skills, queues) into site databases.

    Demo agents sign in with the password "demo".
    """
    if all_sites == (site is not None):
        raise click.UsageError("give exactly one of --site NAME or --all")
    sites = list(DEMO_SITES) if all_sites else [str(site)]

    async def run() -> list[SeedReport]:
        reports = []
        for name in sites:
            url = database_url or default_database_url(data_dir, name)
            salt = DEMO_ACCOUNT_SALT if account_key is None else account_key.encode()
            reports.append(await seed_site(url, name, account_salt=salt))
        return reports

    try:
        reports = asyncio.run(run())
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc
    for report in reports:
        counts = ", ".join(f"{name} {count}" for name, count in report.counts.items())
        click.echo(f"seeded {report.site}: {counts}")
    who = demo_customer()
    click.echo(
        f"demo customer: {who['name']}, calling from {who['phone']}, customer number {who['customer_number']}, "
        f"telephone PIN {DEMO_PIN}"
    )


def demo_customer() -> dict[str, str]:
    """A retail customer of the demo bank with a phone of their own, to try the IVR with."""
    bank = demo_bank()
    owners: dict[str, list[str]] = {}
    for phone in bank.phones:
        owners.setdefault(phone["number"], []).append(phone["customer_id"])
    for customer in bank.customers:
        if customer["segment"] != "retail":
            continue
        mine = [p["number"] for p in bank.phones if p["customer_id"] == customer["id"] and len(owners[p["number"]]) < 2]
        if mine:
            return {"name": customer["name"], "phone": mine[0], "customer_number": customer["customer_number"]}
    raise LookupError("the demo bank has no retail customer with a phone of their own")
