"""Errors of the ACD.

::

    CallCenterError
    └── AcdError                 acd.error
        ├── AcdConfigInvalid     acd.invalid_config   (bad skill level, unknown overflow target)
        ├── UnknownQueue         acd.unknown_queue
        ├── UnknownAgent         acd.unknown_agent
        └── DuplicateCall        acd.duplicate_call   (the call is already waiting)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class AcdError(CallCenterError):
    error_id = "acd.error"
    status = 409


class AcdConfigInvalid(AcdError):
    error_id = "acd.invalid_config"
    status = 400


class UnknownQueue(AcdError):
    error_id = "acd.unknown_queue"
    status = 404


class UnknownAgent(AcdError):
    error_id = "acd.unknown_agent"
    status = 404


class DuplicateCall(AcdError):
    error_id = "acd.duplicate_call"
    status = 409
