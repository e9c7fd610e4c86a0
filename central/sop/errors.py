"""Errors of the SOP flows (stable ids; :mod:`cluster.errors`); each names its element or field::

SopError                 sop.error                 400
├── BadDefinition        sop.bad_definition        400 (the document's shape; names the key)
├── UnknownElement       sop.unknown_element       400 (a path to an element that does not exist)
├── Unreachable          sop.unreachable           400 (no path from the start reaches the element)
├── NoDefaultPath        sop.no_default_path       400 (an exclusive gateway without a default)
├── UnknownFieldType     sop.unknown_field_type    400 (a form field of a type we do not have)
├── BadCondition         sop.bad_condition         400 (not the whitelisted expression language)
├── InvalidSubmission    sop.invalid_submission    400 (a form's data fails its validation)
├── NotWaiting           sop.not_waiting           409 (the task is not the one the instance waits on)
├── BadRollback          sop.bad_rollback          409 (not an earlier task of this instance)
├── Finished             sop.finished              409 (the instance ended or was cancelled)
├── VersionConflict      sop.version_conflict      409 (the instance changed meanwhile)
└── UnknownSop           sop.unknown               404 (no such definition, version or instance)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class SopError(CallCenterError):
    error_id = "sop.error"
    status = 400


class BadDefinition(SopError):
    error_id = "sop.bad_definition"


class UnknownElement(SopError):
    error_id = "sop.unknown_element"


class Unreachable(SopError):
    error_id = "sop.unreachable"


class NoDefaultPath(SopError):
    error_id = "sop.no_default_path"


class UnknownFieldType(SopError):
    error_id = "sop.unknown_field_type"


class BadCondition(SopError):
    error_id = "sop.bad_condition"


class InvalidSubmission(SopError):
    error_id = "sop.invalid_submission"


class NotWaiting(SopError):
    error_id = "sop.not_waiting"
    status = 409


class BadRollback(SopError):
    error_id = "sop.bad_rollback"
    status = 409


class Finished(SopError):
    error_id = "sop.finished"
    status = 409


class VersionConflict(SopError):
    error_id = "sop.version_conflict"
    status = 409


class UnknownSop(SopError):
    error_id = "sop.unknown"
    status = 404
