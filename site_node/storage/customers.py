"""Customer look-ups for caller identification and screen pop (C2, C3, B1), and the PIN check
of telephone banking (C5c): the PIN is stored as an scrypt hash only, checked only by
:meth:`CustomerRepository.verify_pin`, and never logged or returned in a view."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from site_node.storage._base import Repository, table_of, upsert
from site_node.storage.errors import NotFound, StorageError
from site_node.storage.hashing import (
    DEMO_ACCOUNT_SALT,
    account_number_hash,
    check_pin,
    hash_pin,
    mask_account_number,
    needs_rehash,
    normalise_phone,
    verify_pin,
)
from site_node.storage.models import SEGMENTS, Account, Customer, CustomerPhone
from site_node.storage.records import AccountView, CustomerView


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """A customer to create or update (phones replace the stored ones)."""

    id: str
    customer_number: str
    name: str
    segment: str = "retail"
    home_site: str | None = None
    language: str = "en"
    phones: tuple[str, ...] = ()
    created_at: float | None = None


class CustomerRepository(Repository):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], account_salt: bytes = DEMO_ACCOUNT_SALT) -> None:
        super().__init__(sessions)
        self._salt = account_salt

    async def save_customer(self, customer: NewCustomer) -> None:
        if customer.segment not in SEGMENTS:
            raise StorageError(
                f"customers: segment {customer.segment!r} is not one of {SEGMENTS}",
                error_id="storage.bad_value",
                status=400,
            )
        row = {
            "id": customer.id,
            "customer_number": customer.customer_number,
            "name": customer.name,
            "segment": customer.segment,
            "home_site": customer.home_site,
            "language": customer.language,
            "created_at": customer.created_at,
        }
        phones = sorted({normalise_phone(p) for p in customer.phones})
        columns = [name for name in row if name != "id"]  # an update keeps the customer's PIN
        async with self._transaction("save_customer") as session:
            await session.execute(upsert(session, table_of(Customer), ["id"], columns), [row])
            await session.execute(delete(CustomerPhone).where(CustomerPhone.customer_id == customer.id))
            if phones:
                await session.execute(
                    table_of(CustomerPhone).insert(),
                    [{"customer_id": customer.id, "number": p, "kind": "mobile"} for p in phones],
                )

    async def add_account(self, customer_id: str, full_number: str, *, kind: str, currency: str = "EUR") -> AccountView:
        """Store an account masked and hashed; the full number itself is never stored."""
        row = {
            "customer_id": customer_id,
            "kind": kind,
            "masked_number": mask_account_number(full_number),
            "number_hash": account_number_hash(full_number, self._salt),
            "currency": currency,
        }
        async with self._transaction("add_account") as session:
            if await session.get(Customer, customer_id) is None:
                raise NotFound(f"customer {customer_id} does not exist", customer_id=customer_id)
            account = Account(**row)
            session.add(account)
            await session.flush()
            return _account_view(account)

    async def set_pin(self, customer_id: str, pin: str) -> None:
        """Set (or replace) the customer's PIN: 4 to 6 digits, else ``storage.bad_pin``.

        Only the scrypt hash is stored; an unknown customer is ``storage.not_found``.
        """
        digest = await asyncio.to_thread(hash_pin, check_pin(pin))
        async with self._transaction("set_pin") as session:
            customer = await session.get(Customer, customer_id)
            if customer is None:
                raise NotFound(f"customer {customer_id} does not exist", customer_id=customer_id)
            customer.pin_hash = digest

    async def verify_pin(self, customer_id: str, pin: str) -> bool:
        """Whether ``pin`` is the customer's PIN (constant-time compare).

        An unknown customer, a customer without a PIN or a malformed PIN is ``False``, after
        as much work as a real check, so the answer does not tell which customers exist.
        """
        async with self._transaction("verify_pin") as session:
            stored = await session.scalar(select(Customer.pin_hash).where(Customer.id == customer_id))
        ok = await asyncio.to_thread(verify_pin, pin, stored)
        if ok and stored is not None and needs_rehash(stored):  # upgrade to argon2id, transparently
            fresh = await asyncio.to_thread(hash_pin, pin)
            async with self._transaction("rehash_pin") as session:
                same = (Customer.id == customer_id) & (Customer.pin_hash == stored)
                await session.execute(update(Customer).where(same).values(pin_hash=fresh))
        return ok

    async def by_id(self, customer_id: str) -> CustomerView | None:
        return await self._one(select(Customer.id).where(Customer.id == customer_id), "by_id")

    async def by_customer_number(self, customer_number: str) -> CustomerView | None:
        query = select(Customer.id).where(Customer.customer_number == customer_number.strip())
        return await self._one(query, "by_customer_number")

    async def by_account_number(self, full_number: str) -> CustomerView | None:
        """The owner of an account, found through the keyed hash of the full number."""
        digest = account_number_hash(full_number, self._salt)
        query = select(Account.customer_id).where(Account.number_hash == digest)
        return await self._one(query, "by_account_number")

    async def by_caller_number(self, phone: str) -> CustomerView | None:
        """The customer calling from ``phone``; ``None`` if unknown or shared by several."""
        found = await self.all_by_caller_number(phone)
        return found[0] if len(found) == 1 else None

    async def all_by_caller_number(self, phone: str) -> list[CustomerView]:
        query = (
            select(CustomerPhone.customer_id)
            .where(CustomerPhone.number == normalise_phone(phone))
            .order_by(CustomerPhone.customer_id)
        )
        async with self._transaction("by_caller_number") as session:
            ids = list((await session.scalars(query)).all())
            return await _views(session, ids)

    async def search(self, name_part: str, *, limit: int = 20) -> list[CustomerView]:
        pattern = f"%{name_part.strip().lower()}%"
        query = (
            select(Customer.id)
            .where(func.lower(Customer.name).like(pattern))
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        )
        async with self._transaction("search_customers") as session:
            return await _views(session, list((await session.scalars(query)).all()))

    async def count(self) -> int:
        async with self._transaction("count_customers") as session:
            return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)

    async def _one(self, id_query: Select[Any], what: str) -> CustomerView | None:
        async with self._transaction(what) as session:
            customer_id = await session.scalar(id_query)
            if customer_id is None:
                return None
            views = await _views(session, [customer_id])
            return views[0] if views else None


def _account_view(row: Account) -> AccountView:
    return AccountView(row.id, row.customer_id, row.kind, row.masked_number, row.currency)


async def _views(session: AsyncSession, ids: Sequence[str]) -> list[CustomerView]:
    if not ids:
        return []
    customers = (await session.scalars(select(Customer).where(Customer.id.in_(ids)))).all()
    phones = (
        await session.scalars(
            select(CustomerPhone).where(CustomerPhone.customer_id.in_(ids)).order_by(CustomerPhone.number)
        )
    ).all()
    accounts = (await session.scalars(select(Account).where(Account.customer_id.in_(ids)).order_by(Account.id))).all()
    by_id = {c.id: c for c in customers}
    return [
        _view(
            by_id[i],
            (p.number for p in phones if p.customer_id == i),
            (_account_view(a) for a in accounts if a.customer_id == i),
        )
        for i in ids
        if i in by_id
    ]


def _view(row: Customer, phones: Iterable[str], accounts: Iterable[AccountView]) -> CustomerView:
    return CustomerView(
        id=row.id,
        customer_number=row.customer_number,
        name=row.name,
        segment=row.segment,
        home_site=row.home_site,
        language=row.language,
        phones=tuple(phones),
        accounts=tuple(accounts),
    )
