"""The CRM's word on contacting customers: the consent flags of known customer numbers, for
campaigns (``may_call``) and notifications."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.crm.models import CrmCustomer
from site_node.storage.errors import translate_errors


class CrmConsent:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def may_call(self, customer_numbers: Iterable[str]) -> Mapping[str, bool]:
        """Customer number -> may we call; an unknown number is absent. A deactivated customer
        may not be called."""
        wanted = list(set(customer_numbers))
        if not wanted:
            return {}
        async with translate_errors("crm_consent"), self.sessions() as s:
            rows = (await s.execute(select(CrmCustomer.customer_number, CrmCustomer.may_call, CrmCustomer.active)
                                    .where(CrmCustomer.customer_number.in_(wanted)))).all()  # fmt: skip
        return {number: bool(may and active) for number, may, active in rows}
