"""The event stream's part of central's OpenAPI document (issue 23)."""

from __future__ import annotations

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_BASE = {**TOKEN_ERRORS, "role.forbidden": 403, "events.unavailable": 503}
_READ = {**_BASE, "events.bad_query": 400}
_SUB = {**_BASE, "request.bad_field": 400, "events.bad_subscription": 400}
_ONE = {**_SUB, "events.unknown_subscription": 404}

_OPERATIONS: tuple[tuple[str, str, str, dict[str, int]], ...] = (
    ("get", "/v1/events", "a page of the event log after an offset: after (or Last-Event-ID), limit, type "
     "(repeatable; call.* a family), site, queue; next_after resumes (managers and admins)", _READ),
    ("get", "/v1/events/stream", "the event log as Server-Sent Events from an offset (after or Last-Event-ID), "
     "then live; id: is the event's seq (managers and admins)", _READ),
    ("post", "/v1/events/subscriptions", "a webhook: url, secret (16-200 characters, no default), types, sites, "
     "queues; delivery starts with the next event (admins)", _SUB),
    ("get", "/v1/events/subscriptions", "every webhook subscription, without secrets (admins)", _BASE),
    ("get", "/v1/events/subscriptions/{id}", "one subscription and its acknowledged offset (admins)", _ONE),
    ("put", "/v1/events/subscriptions/{id}", "change a subscription's url, secret or filters (admins)", _ONE),
    ("delete", "/v1/events/subscriptions/{id}", "stop and remove a subscription (admins)", _ONE),
)  # fmt: skip


def describe_events(doc: ApiDoc) -> None:
    for method, path, summary, errors in _OPERATIONS:
        doc.op(method, path, summary, errors=errors)
