"""The SQLite name-search index (FTS5 trigram over ``crm_customers.search_key``), written once
per batch by the store that writes the customers (no per-row trigger: an import chunk of 5,000
rows is two statements). PostgreSQL keeps its pg_trgm GIN index by itself: nothing to do there.

Every write of ``crm_customers.search_key`` goes through :func:`reindex` in the same
transaction: new rows are added, renamed rows replace their old entry (an external-content FTS5
table needs the old value to delete it). Deleting a customer row is still done by a trigger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from central.crm.models import CrmCustomer

_ADD = text("INSERT INTO crm_name_fts(rowid, search_key) VALUES (:id, :key)")
_DROP = text("INSERT INTO crm_name_fts(crm_name_fts, rowid, search_key) VALUES ('delete', :id, :key)")


async def current_keys(conn: AsyncConnection, numbers: Sequence[str]) -> dict[int, str]:
    """``{id: search_key}`` of the customers among ``numbers`` that exist (before a write)."""
    if conn.dialect.name != "sqlite" or not numbers:
        return {}
    query = select(CrmCustomer.id, CrmCustomer.search_key).where(CrmCustomer.customer_number.in_(list(numbers)))
    return dict((await conn.execute(query)).tuples().all())


async def reindex(conn: AsyncConnection, old: Mapping[int, str], new: Iterable[tuple[int, str]]) -> None:
    """Replace the entries ``old`` (``{id: key}`` read before the write) by ``new`` ``(id, key)``."""
    if conn.dialect.name != "sqlite":
        return
    changed = [(i, k) for i, k in new if old.get(i) != k]
    dropped = [{"id": i, "key": old[i]} for i, _ in changed if i in old]
    if dropped:
        await conn.execute(_DROP, dropped)
    if changed:
        await conn.execute(_ADD, [{"id": i, "key": k} for i, k in changed])
