"""The call-time look-up: one SQL statement per question, and a small per-replica cache.

A caller number, a customer number or an account's keyed hash finds its customers in ONE
statement on an index (``ix_crm_phones_number``, ``uq_crm_customers_customer_number``,
``uq_crm_accounts_number_hash``): the customer's columns with its phones and masked accounts
aggregated as JSON in scalar subqueries (``json_group_array`` on SQLite, ``json_agg`` on
PostgreSQL). The views equal :func:`central.crm.store._views` (never the PIN hash).

:class:`LookupCache` keeps the latest answers of this replica (LRU, ``size`` entries, ``ttl_s``
seconds by the injected clock): every write through this replica's store clears it, and the TTL
bounds how long a write made through another replica may go unseen.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from central.crm.models import CrmAccount, CrmCustomer, CrmPhone
from cluster.clock import Clock
from site_node.storage._base import table_of

_CUSTOMER = table_of(CrmCustomer)
_PHONES = table_of(CrmPhone)
_ACCOUNTS = table_of(CrmAccount)
_VIEW_COLUMNS = [c for c in _CUSTOMER.c if c.name not in ("pin_hash", "search_key")]
_ACCOUNT_FIELDS = ("id", "kind", "masked_number", "last_four", "currency")
BY = ("phone", "customer_number", "account_hash")


def lookup_statement(dialect: str, by: str, value: str) -> Select[Any]:
    """The one statement answering ``by`` = ``value`` (``by`` in :data:`BY`)."""
    c = _CUSTOMER.c
    pairs: list[Any] = []
    for f in _ACCOUNT_FIELDS:
        pairs += [literal_column(f"'{f}'"), _ACCOUNTS.c[f]]
    if dialect == "postgresql":
        phones_agg = func.json_agg(_PHONES.c.number)
        accounts_agg = func.json_agg(func.json_build_object(*pairs))
    else:
        phones_agg = func.json_group_array(_PHONES.c.number)
        accounts_agg = func.json_group_array(func.json_object(*pairs))
    phones = select(phones_agg).where(_PHONES.c.customer_id == c.id).scalar_subquery().label("_phones")
    accounts = select(accounts_agg).where(_ACCOUNTS.c.customer_id == c.id).scalar_subquery().label("_accounts")
    has_pin = c.pin_hash.is_not(None).label("has_pin")
    query = select(*_VIEW_COLUMNS, has_pin, phones, accounts)
    if by == "phone":
        hits = select(_PHONES.c.customer_id).where(_PHONES.c.number == value)
        query = query.where(c.id.in_(hits), c.active.is_(True))
    elif by == "customer_number":
        query = query.where(c.customer_number == value)
    elif by == "account_hash":
        query = query.where(c.id.in_(select(_ACCOUNTS.c.customer_id).where(_ACCOUNTS.c.number_hash == value)))
    else:
        raise ValueError(by)
    return query.order_by(c.id)


_BOOLEANS = ("may_call", "may_sms", "may_email", "active", "has_pin")
_COMPILED: dict[tuple[str, str], str] = {}


def compiled_lookup(dialect: Dialect, by: str) -> str:
    """The statement's SQL for ``dialect``, compiled once (the call-time path skips SQLAlchemy's
    statement building and caching: a few hundred microseconds per look-up on this machine)."""
    key = (dialect.name, by)
    if key not in _COMPILED:
        compiled = lookup_statement(dialect.name, by, "?").compile(dialect=dialect)
        assert len(compiled.params) == 1, compiled.params  # the value, bound positionally
        _COMPILED[key] = str(compiled)
    return _COMPILED[key]


async def run_lookup(conn: AsyncConnection, by: str, value: str) -> list[dict[str, Any]]:
    """Run the one statement on ``conn`` (a read connection) and return the customer views."""
    sql = compiled_lookup(conn.dialect, by)
    result = await conn.exec_driver_sql(sql, (value,))
    return [_view(dict(r)) for r in result.mappings().all()]


def _json(raw: Any) -> list[Any]:
    found = json.loads(raw) if isinstance(raw, str) else raw
    return [x for x in (found or []) if x is not None]


def _view(r: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in r.items() if k not in ("id", "_phones", "_accounts")}
    for name in _BOOLEANS:
        view[name] = bool(view[name])
    accounts = sorted((a for a in _json(r["_accounts"]) if a.get("id") is not None), key=lambda a: a["id"])
    view.update({
        "_id": r["id"], "phones": sorted(_json(r["_phones"])), "emails": _json(r["emails"]),
        "services": _json(r["services"]),
        "accounts": [{f: a.get(f) for f in _ACCOUNT_FIELDS} for a in accounts],
    })  # fmt: skip
    return view


class LookupCache:
    """This replica's latest look-up answers (LRU with a TTL; :meth:`clear` on every write)."""

    def __init__(self, clock: Clock, *, size: int = 20_000, ttl_s: float = 2.0) -> None:
        self._clock, self._size, self._ttl = clock, size, ttl_s
        self._entries: OrderedDict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = OrderedDict()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, by: str, value: str) -> list[dict[str, Any]] | None:
        found = self._entries.get((by, value))
        if found is None:
            return None
        if self._clock.now() - found[0] > self._ttl:
            del self._entries[(by, value)]
            return None
        self._entries.move_to_end((by, value))
        return [dict(v) for v in found[1]]

    def put(self, by: str, value: str, views: list[dict[str, Any]], generation: int) -> None:
        """Keep an answer read at ``generation`` (dropped if a write cleared the cache meanwhile)."""
        if generation != self._generation:
            return
        self._entries[(by, value)] = (self._clock.now(), [dict(v) for v in views])
        self._entries.move_to_end((by, value))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
