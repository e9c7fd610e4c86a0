"""The CRM's rules over the store: who sees what is audited, PINs hashed, accounts hashed and masked."""

from __future__ import annotations

import asyncio
from typing import Any

from central.crm.audit import AuditBuffer
from central.crm.errors import InvalidField, WrongPin
from central.crm.normalise import customer_input, phone_key
from central.crm.store import CrmStore
from cluster.clock import Clock
from site_node.storage.hashing import account_number_hash, check_pin, hash_pin, mask_account_number, verify_pin

HISTORY_KINDS = ("call", "work_order", "notification", "callback", "voicemail", "note")


class CrmService:
    def __init__(self, store: CrmStore, audit: AuditBuffer, clock: Clock, *, account_salt: bytes) -> None:
        self.store = store
        self.audit = audit
        self._clock = clock
        self._salt = account_salt

    async def _audit(self, who: tuple[str, str], action: str, target: str | None, **details: Any) -> None:
        self.audit.record(at=self._clock.now(), actor=who[0], role=who[1], action=action, target=target,
                          details=details)  # fmt: skip

    async def create(self, who: tuple[str, str], data: dict[str, Any]) -> dict[str, Any]:
        view = await self.store.create(customer_input(data), self._clock.now())
        await self._audit(who, "customer_create", view["customer_number"])
        return view

    async def edit(self, who: tuple[str, str], number: str, data: dict[str, Any]) -> dict[str, Any]:
        current = await self.store.current(number)
        view = await self.store.replace(number, customer_input(data, base=current), self._clock.now())
        await self._audit(who, "customer_edit", number, fields=sorted(data))
        return view

    async def view(self, who: tuple[str, str], number: str) -> dict[str, Any]:
        found = await self.store.get(number)
        await self._audit(who, "customer_view", number)
        return found

    async def lookup(self, who: tuple[str, str], *, phone: str | None = None, account: str | None = None,
                     number: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Call-time identification: by caller number, full account number (hashed) or customer number."""
        if phone is not None:
            found = await self.store.by_phone(phone_key(phone))
        elif account is not None:
            found = await self.store.by_account_hash(account_number_hash(account, self._salt))
        elif number is not None:
            found = await self.store.lookup("customer_number", number.strip())
        else:
            raise InvalidField("look up by phone, account or customer_number", field="by")
        for customer in found:
            await self._audit(who, "customer_view", customer["customer_number"], via="lookup")
        return found

    async def search(self, who: tuple[str, str], **criteria: Any) -> list[dict[str, Any]]:
        if criteria.get("phone"):
            criteria["phone"] = phone_key(criteria["phone"])
        found = await self.store.search(**criteria)
        if found:
            await self._audit(who, "customer_search", None, results=len(found))
        return found

    async def add_account(self, who: tuple[str, str], number: str, full_number: str, kind: str,
                          currency: str) -> dict[str, Any]:  # fmt: skip
        view = await self.store.add_account(number, kind, mask_account_number(full_number),
                                            account_number_hash(full_number, self._salt), currency)  # fmt: skip
        await self._audit(who, "account_add", number, masked=view["masked_number"])
        return view

    async def set_pin(self, who: tuple[str, str], number: str, pin: object) -> None:
        """Set or reset by an authorised role (no old PIN needed)."""
        digest = await asyncio.to_thread(hash_pin, check_pin(pin))
        await self.store.set_pin_hash(number, digest, self._clock.now())
        await self._audit(who, "pin_set", number)

    async def change_pin(self, who: tuple[str, str], number: str, old: object, new: object) -> None:
        """The customer changes their PIN (e.g. through the IVR): the old one must match."""
        fresh = check_pin(new)
        stored = await self.store.pin_hash(number)
        if not await asyncio.to_thread(verify_pin, str(old), stored):
            await self._audit(who, "pin_change_refused", number)
            raise WrongPin("the old PIN does not match")
        await self.store.set_pin_hash(number, await asyncio.to_thread(hash_pin, fresh), self._clock.now())
        await self._audit(who, "pin_change", number)

    async def verify_pin(self, who: tuple[str, str], number: str, pin: object) -> bool:
        ok = await asyncio.to_thread(verify_pin, str(pin), await self.store.pin_hash(number))
        await self._audit(who, "pin_verify", number, ok=ok)
        return ok

    async def merge(self, who: tuple[str, str], survivor: str, duplicate: str) -> dict[str, Any]:
        if survivor == duplicate:
            raise InvalidField("a customer cannot be merged into itself", field="duplicate")
        view = await self.store.merge(survivor, duplicate, self._clock.now())
        await self._audit(who, "customer_merge", survivor, duplicate=duplicate)
        return view

    async def deactivate(self, who: tuple[str, str], number: str) -> dict[str, Any]:
        view = await self.store.deactivate(number, self._clock.now())
        await self._audit(who, "customer_deactivate", number)
        return view

    async def add_history(self, who: tuple[str, str], number: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("kind")
        if kind not in HISTORY_KINDS:
            raise InvalidField(f"kind: one of {', '.join(HISTORY_KINDS)}", field="kind")
        details = body.get("details") or {}
        if not isinstance(details, dict):
            raise InvalidField("details: an object", field="details")
        at = body.get("at", self._clock.now())
        if not isinstance(at, int | float):
            raise InvalidField("at: seconds since the epoch", field="at")
        ref, site = body.get("ref"), body.get("site")
        site_name = None if site is None else str(site)
        ref_text = None if ref is None else str(ref)[:64]
        return await self.store.append_history(
            number, at=float(at), kind=kind, site=site_name, ref=ref_text, details=details
        )

    async def history(self, who: tuple[str, str], number: str, *, before: tuple[float, int] | None, limit: int,
                      kind: str | None) -> list[dict[str, Any]]:  # fmt: skip
        entries = await self.store.history(number, before=before, limit=limit, kind=kind)
        await self._audit(who, "history_view", number)
        return entries
