"""Errors of recording search and legal hold (each names the field it refuses)."""

from __future__ import annotations

from cluster.errors import CallCenterError


class BadRecordingFilter(CallCenterError):
    error_id = "recordings.bad_filter"
    status = 400
