"""The site media switch (aiortc): legs, bridges, prompts, music, DTMF, mixing, recording.

Public surface::

    MediaSwitch(config: MediaConfig, clock=..., force_transcode=False)
        start() / stop()
        answer_webrtc(leg_id, offer_sdp) -> (WebRtcLeg, answer_sdp)
        answer_rtp(leg_id, offer_sdp) -> (RtpLeg, answer_sdp)   (plain RTP from the SIP edge)
        add_leg(leg) / leg(leg_id) / close_leg(leg_id, reason)
        new_call(call_id, customer_leg_id) -> CallMedia / call(call_id)
        play_prompt(leg_id, text, language) -> bool / stop_prompt(leg_id)
        collect_digits(leg_id, max_digits=, timeout_s=, terminators=, sensitive=) -> CollectedDigits
    CallMedia
        connect_agent(leg) / to_ivr(queue_music=) / queue_music(on)
        hold() / resume() / consult(leg) / consult_complete() / consult_cancel() / conference()
        tap(supervisor_leg, TapMode.LISTEN | WHISPER | BARGE) / remove_leg(leg)
        start_recording(stereo=) / pause_recording() / resume_recording() / stop_recording()
        end() -> RecordingInfo | None
"""

from site_node.media.dtmf import CollectedDigits, DtmfDetector, DtmfParams
from site_node.media.errors import (
    BadSdp,
    BadTopology,
    DigitTimeout,
    IncompatibleAiortc,
    LegClosed,
    MediaError,
    PromptError,
    UnknownLeg,
)
from site_node.media.legs import Leg
from site_node.media.prompts import MusicLibrary, PromptCache
from site_node.media.recording import RecordingInfo
from site_node.media.rtp import RtpLeg
from site_node.media.switch import CallMedia, MediaSwitch
from site_node.media.topology import CallMediaState, Mode, TapMode
from site_node.media.webrtc import WebRtcLeg, validate_offer

__all__ = [
    "BadSdp",
    "BadTopology",
    "CallMedia",
    "CallMediaState",
    "CollectedDigits",
    "DigitTimeout",
    "DtmfDetector",
    "DtmfParams",
    "IncompatibleAiortc",
    "Leg",
    "LegClosed",
    "MediaError",
    "MediaSwitch",
    "Mode",
    "MusicLibrary",
    "PromptCache",
    "PromptError",
    "RecordingInfo",
    "RtpLeg",
    "TapMode",
    "UnknownLeg",
    "WebRtcLeg",
    "validate_offer",
]
