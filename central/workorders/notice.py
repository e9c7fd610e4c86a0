"""The closed loop: a resolved order tells its customer, by the contacts given on the order.

Consent is the AND of the customer's agreement recorded on the order (``contact_consent``) and
the customer's standing consent per channel, looked up through :class:`ConsentLookup` (the
CRM's consent flags plug in there; until then :class:`NoConsentRecords` adds no restriction).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from central.notify.service import Notice, Notifier


class ConsentLookup(Protocol):
    async def may_contact(self, customer_number: str, channel: str) -> bool: ...


class NoConsentRecords:
    async def may_contact(self, customer_number: str, channel: str) -> bool:
        return True


class CustomerCheck(Protocol):
    """Whether a customer number is known (the CRM implements it): an order names a real customer."""

    async def exists(self, customer_number: str) -> bool: ...


class AnyCustomer:
    async def exists(self, customer_number: str) -> bool:
        return True


class ResolutionNotice:
    """A :class:`~central.workorders.service.ResolutionListener` sending ``workorder_resolved``."""

    def __init__(self, notifier: Notifier, consents: ConsentLookup | None = None) -> None:
        self._notifier = notifier
        self._consents = consents or NoConsentRecords()

    async def resolved(self, order: Mapping[str, Any]) -> None:
        customer = order.get("customer_number")
        if not customer:
            return
        params = {"order_id": str(order["id"]), "subject": str(order["subject"])}
        for channel, address in (("sms", order.get("contact_phone")), ("email", order.get("contact_email"))):
            if not address:
                continue
            consented = bool(order.get("contact_consent")) and await self._consents.may_contact(customer, channel)
            await self._notifier.notify(
                Notice(
                    customer,
                    channel,
                    address,
                    "workorder_resolved",
                    params,
                    order.get("language") or "en",
                    reference=str(order["id"]),
                ),
                consented=consented,
            )
