"""Automatic call distribution (A1): queues, priorities, skill levels, overflow, EWT."""

from .engine import Acd
from .errors import AcdConfigInvalid, AcdError, DuplicateCall, UnknownAgent, UnknownQueue
from .model import (
    MAX_LEVEL,
    MIN_LEVEL,
    Decision,
    LimitAction,
    LimitReached,
    OfferCall,
    Overflowed,
    OverflowRule,
    QueueConfig,
    Queued,
    Relaxed,
    validate_queues,
)

__all__ = [
    "MAX_LEVEL",
    "MIN_LEVEL",
    "Acd",
    "AcdConfigInvalid",
    "AcdError",
    "Decision",
    "DuplicateCall",
    "LimitAction",
    "LimitReached",
    "OfferCall",
    "OverflowRule",
    "Overflowed",
    "QueueConfig",
    "Queued",
    "Relaxed",
    "UnknownAgent",
    "UnknownQueue",
    "validate_queues",
]
