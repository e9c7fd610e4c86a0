"""The demo bank's customers in the business database (the same generated bank the sites get,
:func:`site_node.storage.seed.demo_bank`). Idempotent: rows that exist are left alone."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.crm.models import CrmAccount, CrmCustomer, CrmPhone
from central.crm.name_index import current_keys, reindex
from central.crm.normalise import search_key
from site_node.storage._base import insert_ignore, table_of
from site_node.storage.hashing import account_number_hash, mask_account_number
from site_node.storage.seed import _demo_pin_hash, demo_bank


async def seed_demo_customers(sessions: async_sessionmaker[AsyncSession], account_salt: bytes) -> int:
    """Load the demo customers; returns how many customers the database holds afterwards."""
    bank = demo_bank()
    async with sessions.begin() as session:
        rows = [{"customer_number": c["customer_number"], "name": c["name"], "search_key": search_key(c["name"]),
                 "segment": c["segment"], "language": c["language"], "home_site": c["home_site"], "emails": [],
                 "services": ["telephone_banking"], "may_call": True, "may_sms": True, "may_email": True,
                 "active": True, "pin_hash": _demo_pin_hash(c["id"]), "created_at": c["created_at"],
                 "updated_at": c["created_at"]} for c in bank.customers]  # fmt: skip
        conn = await session.connection()
        before = await current_keys(conn, [r["customer_number"] for r in rows])
        await session.execute(insert_ignore(session, table_of(CrmCustomer), ["customer_number"]), rows)
        ids = dict((await session.execute(select(CrmCustomer.customer_number, CrmCustomer.id))).tuples().all())
        fresh = [(ids[r["customer_number"]], r["search_key"]) for r in rows if ids[r["customer_number"]] not in before]
        await reindex(conn, {}, fresh)  # the name-search index, once for the batch
        by_demo_id = {c["id"]: ids[c["customer_number"]] for c in bank.customers}
        phones = [{"customer_id": by_demo_id[p["customer_id"]], "number": p["number"]} for p in bank.phones]
        await session.execute(insert_ignore(session, table_of(CrmPhone), ["customer_id", "number"]), phones)
        accounts = [{"customer_id": by_demo_id[a.customer_id], "kind": a.kind,
                     "masked_number": mask_account_number(a.full_number), "last_four": a.full_number[-4:],
                     "number_hash": account_number_hash(a.full_number, account_salt), "currency": a.currency}
                    for a in bank.accounts]  # fmt: skip
        await session.execute(insert_ignore(session, table_of(CrmAccount), ["number_hash"]), accounts)
        return len(ids)
