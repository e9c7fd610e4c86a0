"""Errors of the event stream (stable ids; :mod:`cluster.errors`)::

EventsError                 events.error                 400
├── BadSubscription         events.bad_subscription      400 (names its field)
├── BadQuery                events.bad_query             400 (after, limit, filters)
└── UnknownSubscription     events.unknown_subscription  404
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class EventsError(CallCenterError):
    error_id = "events.error"
    status = 400


class BadSubscription(EventsError):
    error_id = "events.bad_subscription"


class BadQuery(EventsError):
    error_id = "events.bad_query"


class UnknownSubscription(EventsError):
    error_id = "events.unknown_subscription"
    status = 404
