"""Errors of the SIP edge (``sip.*``); each maps to the SIP response the carrier gets.

::

    CallCenterError
    └── SipError              sip.error           500
        ├── BadMessage        sip.bad_message     400 (not a SIP message we can act on)
        ├── TooLarge          sip.too_large       513
        ├── NotInDialPlan     sip.not_in_dial_plan 404 (the dialled number is not served here)
        └── NotAcceptable     sip.not_acceptable  488 (the SDP offers nothing we can carry)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class SipError(CallCenterError):
    error_id = "sip.error"
    status = 500
    sip_code = 500
    sip_reason = "Server Internal Error"


class BadMessage(SipError):
    error_id = "sip.bad_message"
    status = 400
    sip_code = 400
    sip_reason = "Bad Request"


class TooLarge(SipError):
    error_id = "sip.too_large"
    status = 413
    sip_code = 513
    sip_reason = "Message Too Large"


class NotInDialPlan(SipError):
    error_id = "sip.not_in_dial_plan"
    status = 404
    sip_code = 404
    sip_reason = "Not Found"


class NotAcceptable(SipError):
    error_id = "sip.not_acceptable"
    status = 488
    sip_code = 488
    sip_reason = "Not Acceptable Here"
