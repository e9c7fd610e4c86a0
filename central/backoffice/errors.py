"""The simulator's errors (``backoffice.*``)."""

from __future__ import annotations

from cluster.errors import CallCenterError


class BackofficeError(CallCenterError):
    error_id = "backoffice.invalid"
    status = 400


class UnknownItem(BackofficeError):
    error_id = "backoffice.unknown"
    status = 404


class LimitExceeded(BackofficeError):
    error_id = "backoffice.limit_exceeded"
    status = 422


class InjectedFault(BackofficeError):
    error_id = "backoffice.injected_fault"
    status = 503
