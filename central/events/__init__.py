"""The event stream for integrations (issue 23, D4): every call, agent, queue, site and
work-order event as a versioned JSON document, stored durably in the business database, served
as an SSE stream with resume from an offset and pushed to signed webhooks (``docs/events.md``).

The one wiring point is :class:`central.events.api.EventsFeature`."""

from central.events.api import EventsFeature

__all__ = ["EventsFeature"]
