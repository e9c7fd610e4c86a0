"""Work-order errors: each has a stable ``error_id`` and an HTTP status; nothing is changed."""

from __future__ import annotations

from cluster.errors import CallCenterError


class WorkOrderError(CallCenterError):
    error_id = "workorder.invalid"
    status = 400


class TransitionNotAllowed(WorkOrderError):
    error_id = "workorder.transition_not_allowed"
    status = 409


class UnknownDepartment(WorkOrderError):
    error_id = "workorder.unknown_department"
    status = 400


class UnknownCustomer(WorkOrderError):
    error_id = "workorder.unknown_customer"
    status = 400


class UnknownType(WorkOrderError):
    error_id = "workorder.unknown_type"
    status = 400


class UnknownPriority(WorkOrderError):
    error_id = "workorder.unknown_priority"
    status = 400


class UnknownEvent(WorkOrderError):
    error_id = "workorder.unknown_event"
    status = 400


class NotFound(WorkOrderError):
    error_id = "workorder.not_found"
    status = 404


class Conflict(WorkOrderError):
    error_id = "workorder.conflict"
    status = 409


class DepartmentExists(WorkOrderError):
    error_id = "workorder.department_exists"
    status = 409
