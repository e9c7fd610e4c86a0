"""Errors of the call state machine.

::

    CallCenterError
    └── CallError                  call.error
        ├── IllegalCallTransition  call.illegal_transition  (event not allowed in this state)
        ├── CallEventInvalid       call.invalid_event       (bad reason for the state, bad agent)
        ├── SensitiveDataRefused   call.sensitive_data      (PIN/password must never be attached)
        └── CallRecordInvalid      call.invalid_record      (snapshot cannot be restored)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class CallError(CallCenterError):
    error_id = "call.error"
    status = 409


class IllegalCallTransition(CallError):
    error_id = "call.illegal_transition"
    status = 409


class CallEventInvalid(CallError):
    error_id = "call.invalid_event"
    status = 400


class SensitiveDataRefused(CallError):
    error_id = "call.sensitive_data"
    status = 400


class CallRecordInvalid(CallError):
    error_id = "call.invalid_record"
    status = 400
