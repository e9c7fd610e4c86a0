"""Errors of the administration API; each names the field it refuses."""

from __future__ import annotations

from cluster.errors import CallCenterError


class AdminInvalid(CallCenterError):
    """A field of the change is wrong (unknown skill, level outside 1-10, ...): nothing applied."""

    error_id = "admin.invalid"
    status = 400


class AdminNotFound(CallCenterError):
    """The agent or queue to change does not exist: nothing applied."""

    error_id = "admin.not_found"
    status = 404


class AdminVersionConflict(CallCenterError):
    """Someone else changed the object since the caller read it: nothing applied."""

    error_id = "admin.version_conflict"
    status = 409


class AdminUnavailable(CallCenterError):
    error_id = "admin.unavailable"
    status = 503
