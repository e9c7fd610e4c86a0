"""The work-order, department and notification routes in central's OpenAPI document
(:func:`describe`, called by :func:`central.openapi.describe` like the customers' part)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cluster.openapi import TOKEN_ERRORS, ApiDoc

ROLE = {**TOKEN_ERRORS, "role.forbidden": 403, "workorder.starting": 503}
BAD = {"workorder.bad_field": 400, "request.content_type": 415}


class DepartmentRequest(BaseModel):
    id: str
    name: str
    members: list[str] = Field(default_factory=list, description="agent ids of the back-office group")
    escalate_to: str | None = Field(None, description="queue:<name> or role:<name>; else the SLA policy's")


class Department(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    members: list[str]


class Departments(BaseModel):
    departments: list[Department]


class WorkOrderRequest(BaseModel):
    type: str = Field(description="complaint, suggestion, inquiry, repair or emergency")
    priority: str = Field(description="low, normal, high or urgent")
    department: str
    subject: str
    description: str = ""
    customer_number: str | None = None
    call_ids: list[str] = Field(default_factory=list)
    assignee: str | None = None
    language: str = Field("en", description="the customer's language for notifications (en, zh)")
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_consent: bool = Field(False, description="the customer agreed to hear about this order")


class WorkOrder(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    priority: str
    status: str
    department_id: str
    response_due: float
    resolution_due: float


class WorkOrders(BaseModel):
    workorders: list[WorkOrder]


class TransitionRequest(BaseModel):
    event: str = Field(description="assign, start, wait_for_customer, customer_replied, resolve, close, reopen")
    assignee: str | None = None
    note: str | None = None


class CommentRequest(BaseModel):
    body: str


class Delivery(BaseModel):
    """A notification's delivery status (never its address or body)."""

    model_config = ConfigDict(extra="allow")
    id: int
    channel: str = Field(description="sms or email")
    template: str
    language: str
    reference: str | None = Field(description="the work order it is about")
    status: str = Field(description="pending, sent, failed or suppressed (no consent)")
    attempts: int
    last_error: str | None


class Deliveries(BaseModel):
    notifications: list[Delivery]


def describe(doc: ApiDoc) -> None:
    doc.op(
        "post",
        "/v1/departments",
        "create a back-office department (team leaders and up)",
        request=DepartmentRequest,
        response=Department,
        status=201,
        errors={**ROLE, **BAD, "workorder.department_exists": 409},
    )
    doc.op("get", "/v1/departments", "every department", response=Departments, errors=ROLE)
    doc.op(
        "get",
        "/v1/departments/{id}",
        "one department",
        response=Department,
        errors={**ROLE, "workorder.unknown_department": 404},
    )
    doc.op(
        "post",
        "/v1/workorders",
        "create a work order; its SLA deadlines follow its type and priority",
        request=WorkOrderRequest,
        response=WorkOrder,
        status=201,
        errors={
            **ROLE,
            **BAD,
            "workorder.unknown_department": 400,
            "workorder.unknown_customer": 400,
            "workorder.not_a_member": 400,
            "workorder.unknown_type": 400,
            "workorder.unknown_priority": 400,
        },
    )
    doc.op(
        "get",
        "/v1/workorders",
        "work orders, newest first (department, status, assignee, customer, limit)",
        response=WorkOrders,
        errors={**ROLE, "request.bad_field": 400, "workorder.unknown_status": 400},
    )
    doc.op(
        "get",
        "/v1/workorders/{id}",
        "one work order with its history, comments, attachments, escalations and notifications' delivery status",
        response=WorkOrder,
        errors={**ROLE, "workorder.not_found": 404},
    )
    doc.op(
        "post",
        "/v1/workorders/{id}/transitions",
        "move a work order through its lifecycle",
        request=TransitionRequest,
        response=WorkOrder,
        errors={
            **ROLE,
            **BAD,
            "workorder.not_found": 404,
            "workorder.unknown_event": 400,
            "workorder.transition_not_allowed": 409,
            "workorder.conflict": 409,
            "workorder.unknown_department": 400,
            "workorder.not_a_member": 400,
        },
    )
    doc.op(
        "post",
        "/v1/workorders/{id}/comments",
        "comment on a work order",
        request=CommentRequest,
        response=WorkOrder,
        status=201,
        errors={**ROLE, **BAD, "workorder.not_found": 404},
    )
    doc.op(
        "post",
        "/v1/workorders/{id}/attachments",
        "attach a file (the body; ?name=)",
        response=WorkOrder,
        status=201,
        errors={**ROLE, "workorder.not_found": 404, "workorder.bad_field": 400, "workorder.bad_attachment": 413},
    )
    doc.op(
        "get",
        "/v1/workorders/{id}/attachments/{sha256}",
        "an attachment's bytes",
        content="application/octet-stream",
        errors={**ROLE, "workorder.not_found": 404},
    )
    doc.op(
        "get",
        "/v1/notifications",
        "customer notifications' delivery status (customer, reference: a work order id)",
        response=Deliveries,
        errors={**ROLE, "workorder.bad_field": 400},
    )
