"""The screen pop an agent sees when the phone rings (C3): never a sensitive value.

Who the caller is and how sure we are (``identity``: a customer found by a number the web
caller asserts is ``unverified``; see :mod:`site_node.calls.identity`), the customer record with
masked accounts only, recent contact history from the CDRs, what the IVR
collected (already filtered of sensitive keys by the call's data), what was done, the queue
and how long the caller waited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from site_node.calls.identity import identity
from site_node.storage import DispositionRecord, Storage

if TYPE_CHECKING:
    from site_node.calls.live import LiveCall

HISTORY = 5


async def screen_pop(storage: Storage, lc: LiveCall, waited_s: float) -> dict[str, Any]:
    call = lc.call
    data = call.data.to_dict()
    pop: dict[str, Any] = {
        "call_id": call.call_id,
        "caller_number": call.caller_number,
        "dialled_number": call.dialled_number,
        "queue": call.queue,
        "skill": call.skill,
        "priority": call.priority,
        "waited_s": round(waited_s, 1),
        "failovers": call.failovers,
        "ivr": {
            "collected": data.get("collected", {}),
            "attributes": data.get("attributes", {}),
            "actions": data.get("actions", []),
        },
        "verified": data.get("verified"),
        # who says this is the customer: unverified (the caller's own number), network, verified
        "identity": str(identity(lc.record, call.data)),
        "number_source": str(lc.record.number_source),
        "customer": None,
        "history": [],
    }
    customer_id = call.data.customer_id or lc.record.customer_id
    if customer_id:
        view = await storage.customers.by_id(customer_id)
        if view is not None:
            pop["customer"] = {
                "id": view.id,
                "customer_number": view.customer_number,
                "name": view.name,
                "segment": view.segment,
                "home_site": view.home_site,
                "language": view.language,
                "accounts": [
                    {"kind": a.kind, "number": a.masked_number, "currency": a.currency} for a in view.accounts
                ],
            }
            history = await storage.calls.recent_for_customer(customer_id, limit=HISTORY)
            notes = await storage.calls.dispositions(h.call_id for h in history)
            pop["history"] = [
                {
                    "call_id": h.call_id,
                    "at": h.arrival_at,
                    "queue": h.queue,
                    "agent_id": h.agent_id,
                    "end_reason": h.end_reason,
                    "site": h.site,
                    **_disposition(notes.get(h.call_id)),
                }
                for h in history
                if h.call_id != call.call_id
            ]
    return pop


def _disposition(found: DispositionRecord | None) -> dict[str, Any]:
    """What the last agent noted and the IVR collected (notes' card numbers already masked)."""
    if found is None:
        return {"wrap_up_code": None, "notes": None, "collected": {}, "actions": []}
    return {
        "wrap_up_code": found.code,
        "notes": found.notes,
        "collected": found.collected,
        "actions": list(found.actions),
    }
