"""What the CRM lends other business features: the contact history they write to, the
customers' standing consent, and whether a customer number is known.

:class:`CrmLinks` satisfies :class:`central.notify.service.HistorySink`,
:class:`central.workorders.notice.ConsentLookup` and :class:`central.workorders.notice.CustomerCheck`
(structurally: the CRM imports neither feature).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from central.crm.errors import UnknownCustomer
from central.crm.store import CrmStore
from site_node.storage.guard import mask_numbers_in_text

_CONSENT = {"sms": "may_sms", "email": "may_email", "call": "may_call"}


class CrmLinks:
    def __init__(self, store: CrmStore) -> None:
        self._store = store

    async def append(self, customer_number: str, entry: Mapping[str, Any]) -> None:
        """One timeline entry; ``(kind, ref)`` again updates it (a retried write is not doubled)."""
        details = {k: v for k, v in entry.items() if k not in ("kind", "at", "ref", "site")}
        for key, value in details.items():  # free text (a subject, a note) never carries a full number
            if isinstance(value, str):
                details[key] = mask_numbers_in_text(value)
        ref = entry.get("ref")
        site = entry.get("site")
        await self._store.append_history(
            customer_number,
            at=float(entry["at"]),
            kind=str(entry["kind"]),
            site=None if site is None else str(site),
            ref=None if ref is None else str(ref)[:64],
            details=details,
        )

    async def may_contact(self, customer_number: str, channel: str) -> bool:
        """The customer's standing consent for ``channel``; an unknown customer has given none."""
        flag = _CONSENT.get(channel)
        if flag is None:
            return False
        try:
            customer = await self._store.get(customer_number)
        except UnknownCustomer:
            return False
        return bool(customer.get(flag)) and bool(customer.get("active", True))

    async def exists(self, customer_number: str) -> bool:
        try:
            await self._store.get(customer_number)
        except UnknownCustomer:
            return False
        return True
