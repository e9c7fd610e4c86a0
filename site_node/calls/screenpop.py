"""The screen pop an agent sees when the phone rings (C3): never a sensitive value.

Who the caller is and how sure we are (``identity``: a customer found by a number the web
caller asserts is ``unverified``; see :mod:`site_node.calls.identity`), the customer record with
masked accounts only, recent calls from the customer's contact history at central (every
site's, :class:`~site_node.crm.directory.Customers`), what the IVR
collected (already filtered of sensitive keys by the call's data), what was done, the queue
and how long the caller waited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from site_node.calls.identity import identity
from site_node.crm.directory import Customers

if TYPE_CHECKING:
    from site_node.calls.live import LiveCall

HISTORY = 5


async def screen_pop(customers: Customers, lc: LiveCall, waited_s: float) -> dict[str, Any]:
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
        view = await customers.card(customer_id)
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
            history = await customers.recent_calls(view.customer_number, limit=HISTORY + 1)
            pop["history"] = [_entry(h) for h in history if _call_id(h) != call.call_id][:HISTORY]
    return pop


def _call_id(entry: dict[str, Any]) -> str | None:
    return (entry.get("details") or {}).get("call_id")


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    """One call of central's timeline as the pop shows it (notes were masked by the site that wrote them)."""
    d = entry.get("details") or {}
    return {
        "call_id": d.get("call_id"),
        "at": d.get("at", entry.get("at")),
        "queue": d.get("queue"),
        "agent_id": d.get("agent_id"),
        "end_reason": d.get("outcome"),
        "site": entry.get("site"),
        "wrap_up_code": d.get("wrap_up_code"),
        "notes": d.get("notes"),
        "collected": d.get("collected") or {},
        "actions": list(d.get("actions") or []),
    }


def pop_now(lc: LiveCall) -> dict[str, Any] | None:
    """The pop the call's agent got, brought up to date with the call's data (what the IVR
    collected and did since, the PIN check's result): what a consulted agent is shown."""
    if lc.screen_pop is None:
        return None
    data = lc.call.data.to_dict()
    return {
        **lc.screen_pop,
        "ivr": {
            "collected": data.get("collected", {}),
            "attributes": data.get("attributes", {}),
            "actions": data.get("actions", []),
        },
        "verified": data.get("verified"),
        "identity": str(identity(lc.record, lc.call.data)),
    }
