"""Errors of the site runtime (what a client can get back over signalling or HTTP)."""

from __future__ import annotations

from cluster.errors import CallCenterError


class RuntimeError_(CallCenterError):
    error_id = "site.error"
    status = 400


class CallNotHere(RuntimeError_):
    error_id = "call.not_here"
    status = 409


class UnknownCall(RuntimeError_):
    error_id = "call.unknown"
    status = 404


class UnknownAgent(RuntimeError_):
    error_id = "agent.unknown"
    status = 404


class BadCredentials(RuntimeError_):
    error_id = "agent.bad_credentials"
    status = 401


class NoMedia(RuntimeError_):
    error_id = "media.not_connected"
    status = 409


class BadCommand(RuntimeError_):
    error_id = "call.bad_command"
    status = 409
