"""Errors of the media switch (``media.*``).

::

    CallCenterError
    └── MediaError                 media.*
        ├── BadSdp                 media.bad_sdp          (offer cannot be parsed or negotiated)
        ├── UnknownLeg             media.unknown_leg      (no such leg on this switch)
        ├── LegClosed              media.leg_closed       (the leg ended)
        ├── BadTopology            media.bad_topology     (operation not valid in this state)
        ├── DigitTimeout           media.digit_timeout    (collection ended without enough digits)
        ├── PromptError            media.prompt_failed    (text-to-speech failed)
        └── IncompatibleAiortc     media.aiortc_incompatible (internals we rely on changed)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class MediaError(CallCenterError):
    error_id = "media.error"
    status = 500


class BadSdp(MediaError):
    error_id = "media.bad_sdp"
    status = 400


class UnknownLeg(MediaError):
    error_id = "media.unknown_leg"
    status = 404


class LegClosed(MediaError):
    error_id = "media.leg_closed"
    status = 409


class BadTopology(MediaError):
    error_id = "media.bad_topology"
    status = 409


class DigitTimeout(MediaError):
    error_id = "media.digit_timeout"
    status = 408


class PromptError(MediaError):
    error_id = "media.prompt_failed"
    status = 500


class IncompatibleAiortc(MediaError):
    error_id = "media.aiortc_incompatible"
    status = 500
