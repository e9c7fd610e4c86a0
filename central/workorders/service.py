"""Work orders as users see them: validation, the lifecycle's effects, the closed loop.

:class:`WorkOrders` checks every input before it writes anything (an unknown department,
type, priority, event or a transition the lifecycle refuses changes nothing), computes the SLA
deadlines, and after a resolution tells its :class:`ResolutionListener` (the notifier). An
order for a customer is added to that customer's contact history when it is created and when it
is resolved (:class:`~central.notify.service.HistorySink`, the CRM's at central).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from central.notify.service import HistorySink, NoHistory
from central.workorders.attachments import AttachmentFiles
from central.workorders.calendar import BusinessCalendar, office_hours
from central.workorders.errors import UnknownCustomer, UnknownDepartment, WorkOrderError
from central.workorders.lifecycle import Effect, Event, Status, transition
from central.workorders.notice import AnyCustomer, CustomerCheck
from central.workorders.sla import (
    OrderType,
    Priority,
    SlaPolicy,
    deadlines,
    default_policies,
    parse_priority,
    parse_type,
)
from central.workorders.store import WorkOrderStore
from cluster.clock import Clock
from cluster.logs import log

_log = logging.getLogger(__name__)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_PHONE = re.compile(r"^\+?[0-9]{5,20}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}$")


class ResolutionListener(Protocol):
    async def resolved(self, order: Mapping[str, Any]) -> None: ...


class NoListener:
    async def resolved(self, order: Mapping[str, Any]) -> None:
        return None


@dataclass(frozen=True)
class NewOrder:
    type: str
    priority: str
    department: str
    subject: str
    created_by: str
    description: str = ""
    customer_number: str | None = None
    call_ids: tuple[str, ...] = ()
    assignee: str | None = None
    language: str = "en"
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_consent: bool = False  # the customer agreed to be told about this order


def _text(value: str, name: str, limit: int, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise WorkOrderError(
            f"{name} must be a {'non-empty ' if required else ''}text of at most {limit} characters",
            error_id="workorder.bad_field",
            field=name,
        )
    return value


@dataclass
class WorkOrders:
    store: WorkOrderStore
    clock: Clock
    files: AttachmentFiles
    calendar: BusinessCalendar = field(default_factory=office_hours)
    policies: Mapping[tuple[OrderType, Priority], SlaPolicy] = field(default_factory=default_policies)
    listener: ResolutionListener = field(default_factory=NoListener)
    history: HistorySink = field(default_factory=NoHistory)
    customers: CustomerCheck = field(default_factory=AnyCustomer)

    async def create(self, new: NewOrder) -> dict[str, Any]:
        kind, priority = parse_type(new.type), parse_priority(new.priority)
        _text(new.subject, "subject", 200)
        _text(new.description, "description", 10_000, required=False)
        _text(new.language, "language", 8)
        if new.contact_phone is not None and not _PHONE.match(new.contact_phone):
            raise WorkOrderError(
                "contact_phone is +digits (E.164)", error_id="workorder.bad_field", field="contact_phone"
            )
        if new.contact_email is not None and not _EMAIL.match(new.contact_email):
            raise WorkOrderError(
                "contact_email is not an e-mail address", error_id="workorder.bad_field", field="contact_email"
            )
        for call_id in new.call_ids:
            _text(call_id, "call_ids", 64)
        if new.assignee is not None:  # checked before anything is written
            await self._check_member(new.department, _text(new.assignee, "assignee", 64))
        if new.customer_number is not None and not await self.customers.exists(
            _text(new.customer_number, "customer_number", 32)
        ):
            raise UnknownCustomer(f"no customer {new.customer_number!r}", field="customer_number")
        policy = self.policies[(kind, priority)]
        now = self.clock.now()
        due = deadlines(policy, self.calendar, now)
        order_id = f"WO-{secrets.token_hex(6).upper()}"
        row: dict[str, Any] = {
            "id": order_id,
            "type": kind.value,
            "priority": priority.value,
            "status": Status.NEW.value,
            "department_id": new.department,
            "assignee": None,
            "customer_number": new.customer_number,
            "subject": new.subject,
            "description": new.description,
            "language": new.language,
            "contact_phone": new.contact_phone,
            "contact_email": new.contact_email,
            "contact_consent": bool(new.contact_consent),
            "created_by": new.created_by,
            "created_at": now,
            "updated_at": now,
            "response_due": due.response_due,
            "resolution_due": due.resolution_due,
            "escalate_to": policy.escalate_to,  # the department's own target wins (store)
            "version": 1,
        }
        history = await self.store.insert_order(row, new.call_ids)
        await self._tell_history(row, "created", now)
        log(
            _log,
            logging.INFO,
            "work order created",
            order_id=order_id,
            type=kind.value,
            priority=priority.value,
            department=new.department,
        )
        if new.assignee:
            return await self.step(order_id, Event.ASSIGN, new.created_by, assignee=new.assignee)
        # what a read would give, without reading it back
        return {
            **row,
            "call_ids": sorted(set(new.call_ids)),
            "history": [history],
            "comments": [],
            "attachments": [],
            "escalations": [],
        }

    async def step(
        self, order_id: str, event: Event, actor: str, *, assignee: str | None = None, note: str = ""
    ) -> dict[str, Any]:
        """Apply ``event`` (the lifecycle decides); performs the effects; returns the order."""
        order = await self.store.order(order_id, details=False)
        before = Status(order["status"])
        step = transition(before, event)
        now = self.clock.now()
        changes: dict[str, Any] = {}
        for effect in step.effects:
            if effect is Effect.SET_ASSIGNEE:
                if not assignee:
                    raise WorkOrderError("assign needs an assignee", error_id="workorder.bad_field", field="assignee")
                changes["assignee"] = _text(assignee, "assignee", 64)
                await self._check_member(order["department_id"], assignee)
            elif effect is Effect.RESPONDED and order["responded_at"] is None:
                changes["responded_at"] = now
            elif effect is Effect.RESOLVED:
                changes["resolved_at"] = now
            elif effect is Effect.CLOSED:
                changes["closed_at"] = now
            elif effect is Effect.REOPENED:
                changes.update(resolved_at=None, closed_at=None)
        _text(note, "note", 2000, required=False)
        await self.store.apply(order_id, order["version"], step.status, event.value, actor, now, changes, note)
        log(
            _log,
            logging.INFO,
            "work order",
            order_id=order_id,
            old=before.value,
            new=step.status.value,
            event=event.value,
        )
        updated = await self.store.order(order_id)
        if Effect.RESOLVED in step.effects:
            await self._tell_history(updated, "resolved", now, note=note)
            try:  # the resolution stands whatever happens to its notice
                await self.listener.resolved(updated)
            except Exception:
                log(_log, logging.ERROR, "resolution notice failed", order_id=order_id, exc_info=True)
        return updated

    async def _tell_history(self, order: Mapping[str, Any], event: str, at: float, *, note: str = "") -> None:
        """The customer's timeline gets the order's creation and resolution (the order stands anyway)."""
        customer = order.get("customer_number")
        if not customer:
            return
        entry = {
            "kind": "work_order",
            "ref": f"{order['id']}:{event}",
            "at": at,
            "event": event,
            "order_id": order["id"],
            "type": order["type"],
            "priority": order["priority"],
            "department": order["department_id"],
            "status": order["status"],
            "subject": order["subject"],
            **({"note": note} if note else {}),
        }
        try:
            await self.history.append(customer, entry)
        except Exception:
            log(_log, logging.ERROR, "contact history not updated", order_id=order["id"], exc_info=True)

    async def _check_member(self, department_id: str, assignee: str) -> None:
        department = await self.store.department(department_id)
        if department is None:
            raise UnknownDepartment(f"no department {department_id!r}; create it first", department=department_id)
        if assignee not in department["members"]:
            raise WorkOrderError(
                f"{assignee!r} is not a member of department {department_id!r}",
                error_id="workorder.not_a_member",
                department=department_id,
            )

    async def comment(self, order_id: str, author: str, body: str) -> dict[str, Any]:
        await self.store.add_comment(order_id, author, _text(body, "body", 10_000), self.clock.now())
        return await self.store.order(order_id)

    async def attach(self, order_id: str, author: str, name: str, content_type: str, data: bytes) -> dict[str, Any]:
        _text(name, "name", 200)
        if not data or len(data) > MAX_ATTACHMENT_BYTES:
            raise WorkOrderError(
                f"an attachment has 1 to {MAX_ATTACHMENT_BYTES} bytes", error_id="workorder.bad_attachment"
            )
        await self.store.order(order_id, details=False)  # unknown order: nothing stored
        digest = await self.files.put(data)
        await self.store.add_attachment(
            order_id,
            {
                "sha256": digest,
                "name": name,
                "content_type": content_type[:100],
                "size": len(data),
                "author": author,
                "at": self.clock.now(),
            },
        )
        return await self.store.order(order_id)

    async def create_department(
        self, dept_id: str, name: str, members: Iterable[str], escalate_to: str | None = None
    ) -> dict[str, Any]:
        _text(dept_id, "id", 64)
        _text(name, "name", 200)
        if escalate_to is not None and not escalate_to.startswith(("queue:", "role:")):
            raise WorkOrderError(
                "escalate_to is 'queue:<name>' or 'role:<name>'", error_id="workorder.bad_field", field="escalate_to"
            )
        await self.store.create_department(
            dept_id, name, [_text(m, "members", 64) for m in members], escalate_to, self.clock.now()
        )
        found = await self.store.department(dept_id)
        assert found is not None
        return found
