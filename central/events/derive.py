"""Events from what central sees in etcd (pure: no I/O, the time is an argument).

The source is authoritative and survives a site's death: call routing records
(``<prefix>/calls/<id>``, moved by the leader on failover, never lost with a site) and site
membership (``<prefix>/sites/<site>``: its agents and queues as last published). Every event's
id is built from the etcd revision of the write it comes from, so every central replica derives
the same ids and the database keeps one copy (at-least-once in, exactly-once stored)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cluster.callrecords import CallRecord

VERSION = 1
QUEUE_FIELDS = ("waiting", "staffed", "ready")  # a change of one of these is a queue event
CALL_FIELDS = ("state", "site", "agent_id", "queue")  # a change of one of these is a call event

EVENT_TYPES = (
    "call.routed", "call.ivr", "call.temporary_ivr", "call.queued", "call.offered", "call.connected",
    "call.held", "call.consulting", "call.transferring", "call.moving", "call.ended",
    "agent.logged_in", "agent.state_changed", "agent.logged_out",
    "queue.changed", "site.up", "site.down",
    "workorder.created", "workorder.changed",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    type: str
    at: float
    data: dict[str, Any]
    site: str | None = None
    queue: str | None = None
    call_id: str | None = None
    version: int = VERSION
    seq: int = 0  # the stream offset, given by the database

    def document(self) -> dict[str, Any]:
        """The published JSON document (``docs/events.md``, ``schemas/``)."""
        return {"id": self.event_id, "seq": self.seq, "type": self.type, "version": self.version, "at": self.at,
                "site": self.site, "queue": self.queue, "call_id": self.call_id, "data": self.data}  # fmt: skip


def call_data(record: CallRecord) -> dict[str, Any]:
    """What an integration sees of a call: never its attached data (it may hold masked
    account details), never a PIN."""
    return {
        "state": record.state.value, "skill": record.skill, "priority": record.priority,
        "agent_id": record.agent_id, "caller": record.caller, "dialled": record.dialled,
        "customer_id": record.customer_id, "failovers": record.failovers, "sites": list(record.sites),
        "arrived_at": record.original_arrival_at,
    }  # fmt: skip


def call_changed(before: CallRecord | None, after: CallRecord, at: float) -> Event | None:
    """An event when the call's state, site, agent or queue changed (not on history updates)."""
    if before is not None and all(getattr(before, f) == getattr(after, f) for f in CALL_FIELDS):
        return None
    return Event(f"call:{after.call_id}:{after.mod_revision}", f"call.{after.state.value}", at, call_data(after),
                 site=after.site, queue=after.queue, call_id=after.call_id)  # fmt: skip


def call_ended(before: CallRecord | None, call_id: str, revision: int, at: float) -> Event:
    data = call_data(before) if before is not None else {}
    data["state"] = "ended"
    site, queue = (before.site, before.queue) if before is not None else (None, None)
    return Event(f"call:{call_id}:{revision}", "call.ended", at, data, site=site, queue=queue, call_id=call_id)


@dataclass(slots=True)
class SiteView:
    """The last membership info seen of every site (the diff's other side)."""

    sites: dict[str, Mapping[str, Any]] = field(default_factory=dict)


def _agents(info: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    agents = info.get("agents")
    return agents if isinstance(agents, Mapping) else {}


def _queues(info: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    queues = info.get("queues")
    return queues if isinstance(queues, Mapping) else {}


def site_changed(view: SiteView, site: str, info: Mapping[str, Any] | None, revision: int, at: float) -> list[Event]:
    """Agent, queue and site events between the site's last info and ``info`` (None: it left).
    ``view`` is updated."""
    before = view.sites.get(site)
    events: list[Event] = []
    if info is None:
        if before is None:
            return []
        del view.sites[site]
        events.append(Event(f"site:{site}:{revision}", "site.down", at, {}, site=site))
        info = {}
    else:
        view.sites[site] = info
        if before is None:
            events.append(Event(f"site:{site}:{revision}", "site.up", at, {"url": info.get("url")}, site=site))
    old, new = _agents(before or {}), _agents(info)
    for agent_id in sorted(set(old) | set(new)):
        was, now = old.get(agent_id), new.get(agent_id)
        kind = "agent.logged_in" if was is None else "agent.logged_out" if now is None else "agent.state_changed"
        if kind == "agent.state_changed" and (was or {}).get("state") == (now or {}).get("state"):
            continue
        shown = now if now is not None else was or {}
        data = {"agent_id": agent_id, "state": None if now is None else shown.get("state"),
                "reason": shown.get("reason"), "call_id": shown.get("call_id")}  # fmt: skip
        events.append(Event(f"agent:{site}:{agent_id}:{revision}", kind, at, data, site=site))
    old_q, new_q = _queues(before or {}), _queues(info)
    for name in sorted(set(new_q)):
        now_q, was_q = new_q[name], old_q.get(name, {})
        if all(was_q.get(f) == now_q.get(f) for f in QUEUE_FIELDS):
            continue
        data = {k: now_q.get(k) for k in ("skill", "waiting", "longest_wait_s", "staffed", "ready", "service_level")}
        events.append(Event(f"queue:{site}:{name}:{revision}", "queue.changed", at, data, site=site, queue=name))
    return events


def workorder_event(row: Mapping[str, Any], order: Mapping[str, Any] | None, at: float) -> Event:
    """A work order's history entry (``wo_status_history``) as an event."""
    kind = "workorder.created" if row.get("from_status") is None else "workorder.changed"
    data = {"order_id": row["order_id"], "event": row["event"], "from_status": row.get("from_status"),
            "to_status": row["to_status"], "actor": row["actor"],
            "type": (order or {}).get("type"), "priority": (order or {}).get("priority"),
            "department": (order or {}).get("department_id")}  # fmt: skip
    return Event(f"workorder:{row['id']}", kind, float(row.get("at") or at), data)


def matches(event: Event, types: list[str], sites: list[str], queues: list[str]) -> bool:
    """A subscription's filters: empty means any; ``call.*`` a family of types."""
    if types and not any(event.type == t or (t.endswith(".*") and event.type.startswith(t[:-1])) for t in types):
        return False
    if sites and event.site not in sites:
        return False
    return not (queues and event.queue not in queues)
