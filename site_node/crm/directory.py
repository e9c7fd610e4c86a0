"""Who is calling, for the IVR and the screen pop, from central's CRM (issue 17).

The site keeps no customers of its own for calls: the IVR's identification (caller number,
customer number, account number), its PIN check and the agent's screen pop all go through
:class:`~site_node.crm.client.CentralCrm`. The PIN travels to central's verify endpoint and only
a yes or no comes back. When no central replica answers, the client's bounded cache answers
for a customer seen before; when nothing is cached the call simply goes on without a customer
(``None``, an empty history, an unverified PIN): a call never fails for want of its screen pop.

A call's ``customer_id`` is the customer's number at central, the same at every site.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from cluster.errors import CallCenterError
from site_node.crm.client import CentralCrm

_log = logging.getLogger(__name__)
_BY = {"caller_number": "phone", "phone": "phone", "customer_number": "customer_number", "account": "account"}


@dataclass(frozen=True, slots=True)
class MaskedAccount:
    kind: str
    masked_number: str
    currency: str


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """What a call may know of a customer: never a PIN (hash) nor a full account number."""

    customer_number: str
    name: str
    segment: str
    home_site: str | None
    language: str
    accounts: tuple[MaskedAccount, ...] = ()

    @property
    def id(self) -> str:  # a call's customer_id
        return self.customer_number

    @classmethod
    def of(cls, view: Mapping[str, Any]) -> CustomerCard:
        accounts = tuple(
            MaskedAccount(str(a.get("kind", "")), str(a.get("masked_number", "")), str(a.get("currency", "")))
            for a in view.get("accounts") or ()
        )
        return cls(str(view["customer_number"]), str(view.get("name", "")), str(view.get("segment") or "retail"),
                   view.get("home_site"), str(view.get("language") or "en"), accounts)  # fmt: skip


class Customers(Protocol):
    """The site's customer look-ups (the IVR host, the dispatcher's screen pop, the PIN check)."""

    async def find(self, by: str, key: str) -> CustomerCard | None: ...

    async def card(self, customer_number: str) -> CustomerCard | None: ...

    async def recent_calls(self, customer_number: str, *, limit: int) -> list[dict[str, Any]]: ...

    async def verify_pin(self, customer_id: str, pin: str) -> bool: ...


class CentralCustomers:
    """:class:`Customers` through central (replicas in turn, the read cache when none answers)."""

    def __init__(self, crm: CentralCrm) -> None:
        self._crm = crm

    async def find(self, by: str, key: str) -> CustomerCard | None:
        """The one customer ``key`` names (``None``: unknown, shared by several, or central
        unreachable with nothing cached)."""
        kind = _BY.get(by)
        if kind is None or not key.strip():
            return None
        try:
            found = await self._crm.lookup(kind, key.strip())
        except CallCenterError as exc:
            _log.warning("customer look-up by %s not answered; the call goes on without one: %s", kind, exc.error_id)
            return None
        return CustomerCard.of(found[0]) if len(found) == 1 else None

    async def card(self, customer_number: str) -> CustomerCard | None:
        return await self.find("customer_number", customer_number)

    async def recent_calls(self, customer_number: str, *, limit: int) -> list[dict[str, Any]]:
        """The customer's latest calls at any site, newest first (empty when unknown or unreachable)."""
        try:
            page = await self._crm.history(customer_number, limit=limit)
        except CallCenterError as exc:
            _log.warning("contact history not answered; the screen pop goes without it: %s", exc.error_id)
            return []
        return [e for e in page.get("entries", []) if e.get("kind") == "call"]

    async def verify_pin(self, customer_id: str, pin: str) -> bool:
        """Central checks the PIN against its hash; only ``ok`` comes back. An unknown customer is
        ``False``; central unreachable raises :class:`~site_node.crm.client.CrmUnavailable`
        (the PIN check then fails closed)."""
        try:
            answer = await self._crm.post(f"/v1/customers/{quote(customer_id, safe='')}/pin/verify", {"pin": pin})
        except CallCenterError as exc:
            if exc.status in (400, 404):
                return False
            raise
        return answer.get("ok") is True
