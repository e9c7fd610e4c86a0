"""PIN checks and login checks behind lockouts (PCI DSS 8.3.4; finding 3 of the security review).

A customer's PIN failures are counted per customer across calls and sites; an agent's login
failures per account and per client address. Once locked, the secret is not checked at all,
the caller's agent is told "locked" (never the digits), and the lock is audited; an
authorised person lifts it through :class:`~site_node.security.api.LockoutsApi`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from enum import Enum
from typing import Any, Protocol

from cluster.clock import Clock
from cluster.errors import EtcdUnavailable
from cluster.lockouts import Lockouts
from cluster.logs import log
from site_node.crm.client import CrmUnavailable

_log = logging.getLogger(__name__)


class Verification(Enum):
    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"
    UNAVAILABLE = "unavailable"  # the shared count cannot be read: fail closed, not verified


class PinStore(Protocol):
    async def verify_pin(self, customer_id: str, pin: str) -> bool: ...


class Audit(Protocol):  # site_node.audit.AuditTrail
    async def record(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        role: str = "",
    ) -> bool: ...


class PinChecks:
    """Verify a customer's PIN unless the customer is locked; count and lock on failure."""

    def __init__(self, *, pins: PinStore, lockouts: Lockouts, audit: Audit, clock: Clock, site: str) -> None:
        self._pins = pins
        self._lockouts = lockouts
        self._audit = audit
        self._clock = clock
        self._site = site

    async def verify(self, customer_id: str, pin: str, *, call_id: str) -> Verification:
        try:
            if await self._lockouts.retry_after(customer_id) > 0:
                await self._record(customer_id, "pin_refused_locked", call_id)
                return Verification.LOCKED
            if await self._pins.verify_pin(customer_id, pin):
                await self._lockouts.succeeded(customer_id)
                return Verification.VERIFIED
            strikes = await self._lockouts.failed(customer_id)
        except (EtcdUnavailable, CrmUnavailable) as exc:
            log(_log, logging.WARNING, "PIN lockouts or central unreachable", call_id=call_id, error=str(exc))
            return Verification.UNAVAILABLE
        if strikes.locked_until > 0:
            await self._record(customer_id, "pin_locked", call_id, failures=strikes.failures)
            return Verification.LOCKED
        return Verification.WRONG

    async def _record(self, customer_id: str, action: str, call_id: str, **details: object) -> None:
        await self._audit.record(
            actor=f"call:{call_id}", action=action, target=customer_id, details={"call_id": call_id, **details}
        )


class LoginChecks:
    """Agents' logins: refused while the account or the client address is locked (429)."""

    def __init__(self, *, account: Lockouts, address: Lockouts) -> None:
        self.account = account
        self.address = address

    async def check(self, agent_id: str, address: str) -> None:
        await self.address.check(address, "logging in from this address")
        await self.account.check(agent_id, "this account")

    async def failed(self, agent_id: str, address: str) -> bool:
        """Count a failure for both; whether the account is now locked."""
        account, _ = await asyncio.gather(self.account.failed(agent_id), self.address.failed(address))
        return account.locked_until > 0

    async def succeeded(self, agent_id: str) -> None:
        await self.account.succeeded(agent_id)
