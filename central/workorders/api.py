"""The work-order HTTP API on central, installed by :func:`install` (the one wiring point).

    POST /v1/departments                         {id, name, members, escalate_to?}  workorders.manage
    GET  /v1/departments[/{id}]                                                     workorders.handle
    POST /v1/workorders                          {type, priority, department, subject, ...}
    GET  /v1/workorders?department=&status=&assignee=&customer=&limit=
    GET  /v1/workorders/{id}                     with history, comments, attachments, escalations,
                                                 calls and the notifications' delivery status
    POST /v1/workorders/{id}/transitions         {event, assignee?, note?}
    POST /v1/workorders/{id}/comments            {body}
    POST /v1/workorders/{id}/attachments?name=   the file's bytes as the body (its Content-Type)
    GET  /v1/workorders/{id}/attachments/{sha256}
    GET  /v1/notifications?customer=&reference=  delivery status (no address, no body)

Every endpoint needs an agent token whose role may ``workorders.handle`` (departments:
``workorders.manage``). The feature (escalator, notification retrier) is started and stopped by
the business wiring at central (:mod:`central.business.wiring`), on the business database's engine.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from central.notify.channels import Channel, OutboxChannel, SmtpChannel, SmtpSettings
from central.notify.service import HistorySink, NoHistory, Notifier
from central.workorders.attachments import AttachmentFiles
from central.workorders.calendar import office_hours
from central.workorders.config import WorkOrdersConfig
from central.workorders.errors import NotFound, UnknownDepartment, WorkOrderError
from central.workorders.escalation import EscalationSink, Escalator, LogSink
from central.workorders.lifecycle import Status, parse_event
from central.workorders.notice import AnyCustomer, ConsentLookup, CustomerCheck, ResolutionNotice
from central.workorders.service import MAX_ATTACHMENT_BYTES, NewOrder, WorkOrders
from central.workorders.store import WorkOrderStore
from cluster.clock import LOOP_SCHEDULER, SYSTEM_CLOCK, Clock, Scheduler
from cluster.errors import BadRequest
from cluster.http import read_json
from cluster.periodic import Periodic
from cluster.tokens import Claims, TokenSigner, bearer_claims

HANDLE_WHY = "only people who take calls work work orders"
MANAGE_WHY = "only team leaders, managers and administrators set up departments"


def _field(body: dict[str, Any], name: str, *, required: bool = True) -> Any:
    value = body.get(name)
    if value is None and required:
        raise WorkOrderError(f"field {name!r} is required", error_id="workorder.bad_field", field=name)
    if value is not None and not isinstance(value, str):
        raise WorkOrderError(f"field {name!r} must be a string", error_id="workorder.bad_field", field=name)
    return value


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 100:
        raise WorkOrderError(f"field {name!r} must be a list of strings", error_id="workorder.bad_field", field=name)
    return value


class WorkOrdersApi:
    def __init__(self, feature: Feature, signer: TokenSigner) -> None:
        self._feature = feature
        self._signer = signer

    @property
    def service(self) -> WorkOrders:
        if self._feature.service is None:
            raise WorkOrderError("work orders are starting; retry shortly", error_id="workorder.starting", status=503)
        return self._feature.service

    @property
    def notifier(self) -> Notifier:
        self.service  # noqa: B018  # started?
        assert self._feature.notifier is not None
        return self._feature.notifier

    def _who(self, request: web.Request, action: str = "workorders.handle") -> Claims:
        why = MANAGE_WHY if action == "workorders.manage" else HANDLE_WHY
        return bearer_claims(self._signer, request.headers.get("Authorization", ""), action=action, why=why)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/departments", self.create_department)
        app.router.add_get("/v1/departments", self.list_departments)
        app.router.add_get("/v1/departments/{id}", self.get_department)
        app.router.add_post("/v1/workorders", self.create)
        app.router.add_get("/v1/workorders", self.list_orders)
        app.router.add_get("/v1/workorders/{id}", self.get)
        app.router.add_post("/v1/workorders/{id}/transitions", self.transition)
        app.router.add_post("/v1/workorders/{id}/comments", self.comment)
        app.router.add_post("/v1/workorders/{id}/attachments", self.attach)
        app.router.add_get("/v1/workorders/{id}/attachments/{sha256}", self.attachment)
        app.router.add_get("/v1/notifications", self.notifications)

    async def create_department(self, request: web.Request) -> web.Response:
        self._who(request, "workorders.manage")
        body = await read_json(request)
        found = await self.service.create_department(
            _field(body, "id"),
            _field(body, "name"),
            _strings(body, "members"),
            _field(body, "escalate_to", required=False),
        )
        return web.json_response(found, status=201)

    async def list_departments(self, request: web.Request) -> web.Response:
        self._who(request)
        return web.json_response({"departments": await self.service.store.departments()})

    async def get_department(self, request: web.Request) -> web.Response:
        self._who(request)
        found = await self.service.store.department(request.match_info["id"])
        if found is None:
            raise UnknownDepartment(f"no department {request.match_info['id']!r}", status=404)
        return web.json_response(found)

    async def create(self, request: web.Request) -> web.Response:
        who = self._who(request)
        body = await read_json(request)
        consent = body.get("contact_consent", False)
        if not isinstance(consent, bool):
            raise WorkOrderError("contact_consent is true or false", error_id="workorder.bad_field")
        order = await self.service.create(
            NewOrder(
                type=_field(body, "type"),
                priority=_field(body, "priority"),
                department=_field(body, "department"),
                subject=_field(body, "subject"),
                created_by=who.subject,
                description=_field(body, "description", required=False) or "",
                customer_number=_field(body, "customer_number", required=False),
                call_ids=tuple(_strings(body, "call_ids")),
                assignee=_field(body, "assignee", required=False),
                language=_field(body, "language", required=False) or "en",
                contact_phone=_field(body, "contact_phone", required=False),
                contact_email=_field(body, "contact_email", required=False),
                contact_consent=consent,
            )
        )
        return web.json_response(order, status=201)

    async def list_orders(self, request: web.Request) -> web.Response:
        self._who(request)
        q = request.query
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            raise BadRequest("limit is a whole number", error_id="request.bad_field", field="limit") from None
        filters = {k: q.get(k) for k in ("department", "status", "assignee", "customer")}
        if filters["status"] and filters["status"] not in {st.value for st in Status}:
            raise WorkOrderError(
                f"unknown status {filters['status']!r}; one of {[st.value for st in Status]}",
                error_id="workorder.unknown_status",
            )
        return web.json_response({"workorders": await self.service.store.orders(filters, limit)})

    async def get(self, request: web.Request) -> web.Response:
        self._who(request)
        order = await self.service.store.order(request.match_info["id"])
        order["notifications"] = await self.notifier.deliveries(reference=order["id"])
        return web.json_response(order)

    async def notifications(self, request: web.Request) -> web.Response:
        self._who(request)
        customer, reference = request.query.get("customer"), request.query.get("reference")
        if not customer and not reference:
            raise WorkOrderError(
                "name a customer or a reference (a work order id)", error_id="workorder.bad_field", field="customer"
            )
        found = await self.notifier.deliveries(reference=reference or None, customer_number=customer or None)
        return web.json_response({"notifications": found})

    async def transition(self, request: web.Request) -> web.Response:
        who = self._who(request)
        body = await read_json(request)
        order = await self.service.step(
            request.match_info["id"],
            parse_event(_field(body, "event")),
            who.subject,
            assignee=_field(body, "assignee", required=False),
            note=_field(body, "note", required=False) or "",
        )
        return web.json_response(order)

    async def comment(self, request: web.Request) -> web.Response:
        who = self._who(request)
        body = await read_json(request)
        order = await self.service.comment(request.match_info["id"], who.subject, _field(body, "body"))
        return web.json_response(order, status=201)

    async def attach(self, request: web.Request) -> web.Response:
        who = self._who(request)
        if request.content_length is not None and request.content_length > MAX_ATTACHMENT_BYTES:
            raise WorkOrderError(
                f"an attachment has at most {MAX_ATTACHMENT_BYTES} bytes",
                error_id="workorder.bad_attachment",
                status=413,
            )
        chunks, size = [], 0
        async for chunk in request.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > MAX_ATTACHMENT_BYTES:
                raise WorkOrderError(
                    f"an attachment has at most {MAX_ATTACHMENT_BYTES} bytes",
                    error_id="workorder.bad_attachment",
                    status=413,
                )
            chunks.append(chunk)
        order = await self.service.attach(
            request.match_info["id"],
            who.subject,
            request.query.get("name", ""),
            request.content_type or "application/octet-stream",
            b"".join(chunks),
        )
        return web.json_response(order, status=201)

    async def attachment(self, request: web.Request) -> web.Response:
        self._who(request)
        order = await self.service.store.order(request.match_info["id"])
        sha = request.match_info["sha256"]
        meta = next((a for a in order["attachments"] if a["sha256"] == sha), None)
        if meta is None:
            raise NotFound(f"work order {order['id']} has no attachment {sha!r}")
        data = await self.service.files.get(sha)
        return web.Response(body=data, content_type=meta["content_type"], headers={"Content-Disposition": "attachment"})


def _channels(config: WorkOrdersConfig, outbox: OutboxChannel) -> dict[str, Channel]:
    smtp = config.smtp
    email: Channel = outbox
    if smtp.host:
        email = SmtpChannel(
            SmtpSettings(
                smtp.host,
                smtp.port,
                smtp.sender,
                smtp.username,
                smtp.password,
                smtp.start_tls,
                timeout_s=smtp.timeout_s,
            )
        )
    return {"sms": outbox, "email": email}


class Feature:
    """The parts that live as long as the app; :meth:`start` gets the business database's engine
    and the CRM's links (contact history, consent, known customers) from the wiring at central."""

    def __init__(
        self,
        config: WorkOrdersConfig,
        clock: Clock,
        scheduler: Scheduler,
        escalations: EscalationSink,
        *,
        data_dir: str,
    ) -> None:
        self._config = config
        self._clock = clock
        self._scheduler = scheduler
        self._escalations = escalations
        self._data_dir = data_dir
        self.service: WorkOrders | None = None
        self.notifier: Notifier | None = None
        self._escalator: Escalator | None = None
        self._retrier: Periodic | None = None

    async def start(self, engine: AsyncEngine, links: CustomerLinks | None = None) -> None:
        """Serve from ``engine`` (its tables migrated: ``central/business/migrations``)."""
        config, clock = self._config, self._clock
        store = WorkOrderStore(engine)
        hours = config.business_hours
        history: HistorySink = links if links is not None else NoHistory()
        self.notifier = Notifier(engine, _channels(config, OutboxChannel(engine, clock)), clock, history)
        self.service = WorkOrders(
            store,
            clock,
            AttachmentFiles(config.attachments_path(self._data_dir)),
            calendar=office_hours(
                hours.open_h, hours.close_h, tuple(hours.days), frozenset(hours.holidays), hours.utc_offset_s
            ),
            listener=ResolutionNotice(self.notifier, links),
            history=history,
            customers=links if links is not None else AnyCustomer(),
        )
        self._escalator = Escalator(
            store,
            clock,
            self._escalations,
            interval_s=config.escalation_interval_s,
            warn_before_s=config.warn_before_s,
            scheduler=self._scheduler,
        )
        self._retrier = Periodic(
            "notify-retrier", config.retry_interval_s, self.notifier.retry_due, scheduler=self._scheduler
        )
        self._escalator.start()
        self._retrier.start()

    async def stop(self) -> None:
        """Stop the timers (the engine belongs to the business database)."""
        if self._escalator is not None:
            await self._escalator.stop()
            self._escalator = None
        if self._retrier is not None:
            await self._retrier.stop()
            self._retrier = None
        self.service = None


class CustomerLinks(HistorySink, ConsentLookup, CustomerCheck, Protocol):
    """The CRM's side of the closed loop (:class:`central.crm.hooks.CrmLinks`)."""


def install(
    app: web.Application,
    config: WorkOrdersConfig,
    signer: TokenSigner,
    *,
    data_dir: str,
    clock: Clock = SYSTEM_CLOCK,
    scheduler: Scheduler = LOOP_SCHEDULER,
    escalations: EscalationSink | None = None,
) -> Feature:
    """Add the work-order routes to ``app``; the caller starts and stops the returned feature."""
    feature = Feature(config, clock, scheduler, escalations or LogSink(), data_dir=data_dir)
    WorkOrdersApi(feature, signer).routes(app)
    return feature
