"""Notification errors (stable ids)."""

from __future__ import annotations

from cluster.errors import CallCenterError


class NotifyError(CallCenterError):
    error_id = "notify.invalid"
    status = 400


class UnknownTemplate(NotifyError):
    error_id = "notify.unknown_template"


class UnknownChannel(NotifyError):
    error_id = "notify.unknown_channel"


class DeliveryFailed(NotifyError):
    """A channel could not deliver; ``permanent`` failures are not retried."""

    error_id = "notify.delivery_failed"
    status = 502

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message, permanent=permanent)
        self.permanent = permanent
