"""The resource engine's errors; each names the field (or file and key) it is about."""

from __future__ import annotations

from cluster.errors import CallCenterError


class ResourceError(CallCenterError):
    error_id = "resources.invalid"
    status = 400


class InvalidDefinition(ResourceError):
    error_id = "resources.invalid_definition"
    status = 400


class UnknownField(ResourceError):
    error_id = "resources.unknown_field"
    status = 400


class MissingInput(ResourceError):
    error_id = "resources.missing_input"
    status = 400


class DependencyCycle(ResourceError):
    error_id = "resources.cycle"
    status = 400


class NotAllowed(ResourceError):
    error_id = "resources.forbidden"
    status = 403


class ExpressionError(ResourceError):
    error_id = "resources.bad_expression"
    status = 400
