"""SQL of the CRM (SQLite and PostgreSQL alike): customers, phones, accounts, history, view audit.

Views are plain dicts ready for JSON; they never carry the PIN hash or an account's full number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from central.crm.errors import DuplicateAccount, DuplicateCustomer, UnknownCustomer
from central.crm.lookup import LookupCache, run_lookup
from central.crm.models import CrmAccount, CrmAudit, CrmCustomer, CrmHistory, CrmPhone
from central.crm.name_index import current_keys, reindex
from central.crm.normalise import CustomerInput, search_key
from cluster.clock import SYSTEM_CLOCK
from site_node.storage._base import Repository, insert_ignore, table_of, upsert
from site_node.storage.errors import translate_errors
from site_node.storage.guard import check_not_sensitive

_COLUMNS = ("customer_number", "name", "search_key", "segment", "language", "home_site", "emails",
            "may_call", "may_sms", "may_email", "services")  # fmt: skip


def _row(inp: CustomerInput, now: float) -> dict[str, Any]:
    return {
        "customer_number": inp.customer_number, "name": inp.name, "search_key": inp.key,
        "segment": inp.segment, "language": inp.language, "home_site": inp.home_site,
        "emails": list(inp.emails), "may_call": inp.may_call, "may_sms": inp.may_sms,
        "may_email": inp.may_email, "services": list(inp.services), "created_at": now, "updated_at": now,
    }  # fmt: skip


class CrmStore(Repository):
    """Writes go through ``sessions``; reads through ``reads`` (a deferred-begin engine on SQLite)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], reads: async_sessionmaker[AsyncSession] | None = None,
        cache: LookupCache | None = None,
    ) -> None:  # fmt: skip
        super().__init__(sessions)
        self._reads = reads or sessions
        self.cache = cache or LookupCache(SYSTEM_CLOCK)
        self._read_engine: AsyncEngine = self._reads.kw["bind"]

    @asynccontextmanager
    async def _transaction(self, what: str) -> AsyncIterator[AsyncSession]:
        """Every write: the look-up cache forgets what it holds (before and after the commit)."""
        self.cache.clear()
        try:
            async with super()._transaction(what) as session:
                yield session
        finally:
            self.cache.clear()

    async def lookup(self, by: str, value: str) -> list[dict[str, Any]]:
        """Call-time identification (``by``: phone, customer_number, account_hash): one indexed
        statement, answered from this replica's cache when it was asked lately."""
        found = self.cache.get(by, value)
        if found is not None:
            return found
        generation = self.cache.generation
        async with translate_errors("crm_lookup"), self._read_engine.connect() as conn:
            views = await run_lookup(conn, by, value)
        self.cache.put(by, value, views, generation)
        return views

    @asynccontextmanager
    async def _reading(self, what: str) -> AsyncIterator[AsyncSession]:
        async with translate_errors(what), self._reads.begin() as session:
            yield session

    async def create(self, inp: CustomerInput, now: float) -> dict[str, Any]:
        async with self._transaction("crm_create") as session:
            if await self._id(session, inp.customer_number, missing_ok=True) is not None:
                raise DuplicateCustomer(f"customer number {inp.customer_number} exists already",
                                        customer_number=inp.customer_number)  # fmt: skip
            row = CrmCustomer(**_row(inp, now))
            session.add(row)
            await session.flush()
            await reindex(await session.connection(), {}, [(row.id, inp.key)])
            await self._set_phones(session, row.id, inp.phones)
            return (await _views(session, [row.id]))[0]

    async def replace(self, number: str, inp: CustomerInput, now: float) -> dict[str, Any]:
        async with self._transaction("crm_update") as session:
            cid = await self._id(session, number)
            if inp.customer_number != number and await self._id(session, inp.customer_number, missing_ok=True):
                raise DuplicateCustomer(f"customer number {inp.customer_number} exists already")
            values = {k: v for k, v in _row(inp, now).items() if k != "created_at"}
            before = await current_keys(await session.connection(), [number])
            await session.execute(update(CrmCustomer).where(CrmCustomer.id == cid).values(**values))
            await reindex(await session.connection(), before, [(cid, inp.key)])
            await self._set_phones(session, cid, inp.phones)
            return (await _views(session, [cid]))[0]

    async def current(self, number: str) -> CustomerInput:
        async with self._reading("crm_current") as session:
            row = await session.get(CrmCustomer, await self._id(session, number))
            assert row is not None
            phones = (await session.scalars(select(CrmPhone.number).where(CrmPhone.customer_id == row.id))).all()
            return CustomerInput(row.customer_number, row.name, row.segment, row.language, row.home_site,
                                 tuple(phones), tuple(row.emails), row.may_call, row.may_sms, row.may_email,
                                 tuple(row.services), row.search_key)  # fmt: skip

    async def upsert_many(self, rows: Sequence[CustomerInput], now: float, *, existing: bool = True) -> None:
        """Idempotent upsert by customer number, one transaction (an import chunk); Core
        statements, executemany. ``existing=False``: none of the rows exists yet (no phones to replace)."""
        if not rows:
            return
        async with self._transaction("crm_import") as session:
            conn = await session.connection()
            table = table_of(CrmCustomer)
            columns = [c for c in _COLUMNS if c != "customer_number"] + ["updated_at"]
            numbers = [r.customer_number for r in rows]
            before = await current_keys(conn, numbers) if existing else {}
            await conn.execute(upsert(session, table, ["customer_number"], columns), [_row(r, now) for r in rows])
            ids = dict((await conn.execute(
                select(CrmCustomer.customer_number, CrmCustomer.id).where(CrmCustomer.customer_number.in_(numbers))
            )).tuples().all())  # fmt: skip
            await reindex(conn, before, [(ids[r.customer_number], r.key) for r in rows])  # once per chunk
            if existing:
                await conn.execute(delete(CrmPhone).where(CrmPhone.customer_id.in_(list(ids.values()))))
            phones = [{"customer_id": ids[r.customer_number], "number": p} for r in rows for p in r.phones]
            if phones:
                await conn.execute(insert_ignore(session, table_of(CrmPhone), ["customer_id", "number"]), phones)

    async def existing_numbers(self, numbers: Iterable[str]) -> set[str]:
        wanted = list(numbers)
        async with self._reading("crm_existing") as session:
            found = await session.scalars(select(CrmCustomer.customer_number).where(
                CrmCustomer.customer_number.in_(wanted)))  # fmt: skip
            return set(found.all())

    async def get(self, number: str) -> dict[str, Any]:
        async with self._reading("crm_get") as session:
            return (await _views(session, [await self._id(session, number)]))[0]

    async def by_phone(self, phone: str) -> list[dict[str, Any]]:
        return await self.lookup("phone", phone)

    async def by_account_hash(self, digest: str) -> list[dict[str, Any]]:
        return await self.lookup("account_hash", digest)

    async def search(
        self, *, name: str | None = None, phone: str | None = None, number: str | None = None,
        last_four: str | None = None, segment: str | None = None, active: bool | None = True,
        after: int = 0, limit: int = 20,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Customers matching every given criterion, in id order after ``after`` (the cursor)."""
        query = select(CrmCustomer.id).where(CrmCustomer.id > after).order_by(CrmCustomer.id).limit(limit)
        async with self._reading("crm_search") as session:
            if name:
                query = query.where(self._name_match(session, search_key(name)))
            if phone:
                query = query.where(CrmCustomer.id.in_(select(CrmPhone.customer_id).where(CrmPhone.number == phone)))
            if number:
                query = query.where(CrmCustomer.customer_number == number)
            if last_four:
                accounts = select(CrmAccount.customer_id).where(CrmAccount.last_four == last_four)
                query = query.where(CrmCustomer.id.in_(accounts))
            if segment:
                query = query.where(CrmCustomer.segment == segment)
            if active is not None:
                query = query.where(CrmCustomer.active.is_(active))
            return await _views(session, list((await session.scalars(query)).all()))

    @staticmethod
    def _name_match(session: AsyncSession, key: str) -> Any:
        like = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        plain = CrmCustomer.search_key.like(like, escape="\\")
        if session.get_bind().dialect.name == "sqlite" and len(key) >= 3:
            # the FTS5 trigram index answers substring queries of 3+ characters
            phrase = '"' + key.replace('"', '""') + '"'
            hits = text("SELECT rowid FROM crm_name_fts WHERE crm_name_fts MATCH :q").bindparams(q=phrase)
            return CrmCustomer.id.in_(hits)
        if session.get_bind().dialect.name == "postgresql":
            return CrmCustomer.search_key.ilike(like, escape="\\")  # pg_trgm's GIN index serves ILIKE
        return plain

    async def add_account(self, number: str, kind: str, masked: str, digest: str, currency: str) -> dict[str, Any]:
        async with self._transaction("crm_add_account") as session:
            cid = await self._id(session, number)
            if await session.scalar(select(CrmAccount.id).where(CrmAccount.number_hash == digest)) is not None:
                raise DuplicateAccount("this account belongs to a customer already")
            account = CrmAccount(customer_id=cid, kind=kind, masked_number=masked, last_four=masked[-4:],
                                 number_hash=digest, currency=currency)  # fmt: skip
            session.add(account)
            await session.flush()
            return _account_view(account)

    async def pin_hash(self, number: str) -> str | None:
        async with self._reading("crm_pin_hash") as session:
            cid = await self._id(session, number)
            return await session.scalar(select(CrmCustomer.pin_hash).where(CrmCustomer.id == cid))

    async def set_pin_hash(self, number: str, digest: str, now: float) -> None:
        async with self._transaction("crm_set_pin") as session:
            cid = await self._id(session, number)
            await session.execute(update(CrmCustomer).where(CrmCustomer.id == cid)
                                  .values(pin_hash=digest, updated_at=now))  # fmt: skip

    async def deactivate(self, number: str, now: float) -> dict[str, Any]:
        async with self._transaction("crm_deactivate") as session:
            cid = await self._id(session, number)
            await session.execute(update(CrmCustomer).where(CrmCustomer.id == cid).values(active=False, updated_at=now))
            return (await _views(session, [cid]))[0]

    async def merge(self, survivor: str, duplicate: str, now: float) -> dict[str, Any]:
        """Phones, accounts and history of ``duplicate`` move to ``survivor``; the duplicate is
        deactivated and points at the survivor."""
        async with self._transaction("crm_merge") as session:
            keep, drop = await self._id(session, survivor), await self._id(session, duplicate)
            phones = (await session.scalars(select(CrmPhone.number).where(CrmPhone.customer_id == drop))).all()
            await session.execute(delete(CrmPhone).where(CrmPhone.customer_id == drop))
            if phones:
                rows = [{"customer_id": keep, "number": p} for p in phones]
                await session.execute(insert_ignore(session, table_of(CrmPhone), ["customer_id", "number"]), rows)
            await session.execute(update(CrmAccount).where(CrmAccount.customer_id == drop).values(customer_id=keep))
            await session.execute(update(CrmHistory).where(CrmHistory.customer_id == drop).values(customer_id=keep))
            await session.execute(update(CrmCustomer).where(CrmCustomer.id == drop)
                                  .values(active=False, merged_into=survivor, updated_at=now))  # fmt: skip
            session.add(CrmHistory(customer_id=keep, at=now, kind="merge", site=None, ref=None,
                                   details={"merged": duplicate}))  # fmt: skip
            return (await _views(session, [keep]))[0]

    async def append_history(
        self, number: str, *, at: float, kind: str, site: str | None, ref: str | None, details: dict[str, Any]
    ) -> dict[str, Any]:
        """Add a timeline entry; one with the same ``(kind, ref)`` replaces the earlier (never twice)."""
        check_not_sensitive(details, "crm_history")
        async with self._transaction("crm_history_add") as session:
            cid = await self._id(session, number)
            row = {"customer_id": cid, "at": at, "kind": kind, "site": site, "ref": ref, "details": details}
            if ref is None:
                session.add(CrmHistory(**row))
                await session.flush()
            else:  # the same call written again (its wrap-up came later): one entry, updated
                stmt = upsert(session, table_of(CrmHistory), ["kind", "ref"], ["at", "site", "details"])
                await session.execute(stmt, [row])
            query = select(CrmHistory).where(CrmHistory.kind == kind, CrmHistory.ref == ref)
            if ref is None:
                query = select(CrmHistory).where(CrmHistory.customer_id == cid).order_by(CrmHistory.id.desc())
            stored = (await session.scalars(query.limit(1))).one()
            return _history_view(stored, number)

    async def history(
        self, number: str, *, before: tuple[float, int] | None, limit: int, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; ``before`` is the ``(at, id)`` of the previous page's last entry."""
        async with self._reading("crm_history") as session:
            cid = await self._id(session, number)
            query = (select(CrmHistory).where(CrmHistory.customer_id == cid)
                     .order_by(CrmHistory.at.desc(), CrmHistory.id.desc()).limit(limit))  # fmt: skip
            if kind:
                query = query.where(CrmHistory.kind == kind)
            if before is not None:
                at, entry_id = before
                query = query.where(or_(CrmHistory.at < at, (CrmHistory.at == at) & (CrmHistory.id < entry_id)))
            return [_history_view(r, number) for r in (await session.scalars(query)).all()]

    async def audit_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append audit entries (see :class:`central.crm.audit.AuditBuffer`), one transaction."""
        if rows:
            async with self._transaction("crm_audit") as session:
                await (await session.connection()).execute(table_of(CrmAudit).insert(), list(rows))

    async def audit_entries(self, target: str) -> list[dict[str, Any]]:
        async with self._reading("crm_audit_read") as session:
            rows = (
                await session.scalars(select(CrmAudit).where(CrmAudit.target == target).order_by(CrmAudit.id))
            ).all()
            return [{"at": r.at, "actor": r.actor, "role": r.role, "action": r.action, "target": r.target}
                    for r in rows]  # fmt: skip

    async def count(self) -> int:
        async with self._reading("crm_count") as session:
            return int(await session.scalar(select(func.count()).select_from(CrmCustomer)) or 0)

    async def export_rows(self, *, segment: str | None, active: bool | None, after: int, limit: int
                          ) -> list[dict[str, Any]]:  # fmt: skip
        return await self.search(segment=segment, active=active, after=after, limit=limit)

    async def _id(self, session: AsyncSession, number: str, *, missing_ok: bool = False) -> int:
        found = await session.scalar(select(CrmCustomer.id).where(CrmCustomer.customer_number == number))
        if found is None and not missing_ok:
            raise UnknownCustomer(f"no customer {number}", customer_number=number)
        return found  # type: ignore[return-value]

    async def _set_phones(self, session: AsyncSession, cid: int, phones: Sequence[str]) -> None:
        await session.execute(delete(CrmPhone).where(CrmPhone.customer_id == cid))
        if phones:
            await session.execute(table_of(CrmPhone).insert(), [{"customer_id": cid, "number": p} for p in phones])


def _account_view(a: CrmAccount) -> dict[str, Any]:
    return {"id": a.id, "kind": a.kind, "masked_number": a.masked_number, "last_four": a.last_four,
            "currency": a.currency}  # fmt: skip


def _history_view(r: CrmHistory, number: str) -> dict[str, Any]:
    return {"id": r.id, "customer_number": number, "at": r.at, "kind": r.kind, "site": r.site, "ref": r.ref,
            "details": dict(r.details)}  # fmt: skip


_CUSTOMER = table_of(CrmCustomer)
_PHONES = table_of(CrmPhone)
_ACCOUNTS = table_of(CrmAccount)
_VIEW_COLUMNS = [c for c in _CUSTOMER.c if c.name not in ("pin_hash", "search_key")]


async def _views(session: AsyncSession, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Customer views in ``ids`` order (Core statements: a look-up is on the call's path)."""
    if not ids:
        return []
    conn = await session.connection()
    has_pin = _CUSTOMER.c.pin_hash.is_not(None).label("has_pin")
    rows = (await conn.execute(select(*_VIEW_COLUMNS, has_pin).where(_CUSTOMER.c.id.in_(ids)))).mappings().all()
    customers = {r["id"]: r for r in rows}
    phones = (await conn.execute(select(_PHONES.c.customer_id, _PHONES.c.number)
                                 .where(_PHONES.c.customer_id.in_(ids)).order_by(_PHONES.c.number))).all()  # fmt: skip
    accounts = (await conn.execute(select(_ACCOUNTS).where(_ACCOUNTS.c.customer_id.in_(ids))
                                   .order_by(_ACCOUNTS.c.id))).mappings().all()  # fmt: skip
    out = []
    for i in ids:
        c = customers.get(i)
        if c is None:
            continue
        view = {k: v for k, v in c.items() if k != "id"}
        view.update({
            "_id": i, "phones": [p for cid, p in phones if cid == i], "emails": list(c["emails"] or []),
            "services": list(c["services"] or []), "has_pin": bool(c["has_pin"]),
            "accounts": [{"id": a["id"], "kind": a["kind"], "masked_number": a["masked_number"],
                          "last_four": a["last_four"], "currency": a["currency"]}
                         for a in accounts if a["customer_id"] == i],
        })  # fmt: skip
        out.append(view)
    return out
