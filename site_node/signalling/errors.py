"""Errors of the signalling endpoint (``signalling.*``); sent as ``error`` messages.

::

    CallCenterError
    └── SignallingError            signalling.*
        ├── TooLarge               signalling.too_large     (message over the size limit)
        ├── Malformed              signalling.malformed     (not JSON / missing or bad fields)
        ├── UnknownType            signalling.unknown_type  (no such message type)
        ├── BadSdp                 signalling.bad_sdp       (offer is not usable SDP)
        ├── NotJoined              signalling.not_joined    (join first)
        ├── AlreadyJoined          signalling.already_joined
        └── Forbidden              signalling.forbidden     (not allowed for this token kind)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class SignallingError(CallCenterError):
    error_id = "signalling.error"
    status = 400


class TooLarge(SignallingError):
    error_id = "signalling.too_large"
    status = 413


class Malformed(SignallingError):
    error_id = "signalling.malformed"


class UnknownType(SignallingError):
    error_id = "signalling.unknown_type"


class BadSdp(SignallingError):
    error_id = "signalling.bad_sdp"


class NotJoined(SignallingError):
    error_id = "signalling.not_joined"
    status = 401


class AlreadyJoined(SignallingError):
    error_id = "signalling.already_joined"
    status = 409


class Forbidden(SignallingError):
    error_id = "signalling.forbidden"
    status = 403
