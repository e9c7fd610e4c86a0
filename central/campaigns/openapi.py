"""The campaigns API's part of central's OpenAPI document (issue 21)."""

from __future__ import annotations

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_BASE = {**TOKEN_ERRORS, "role.forbidden": 403, "request.bad_field": 400, "campaign.bad_policy": 400}
_ONE = {**_BASE, "campaign.unknown": 404}
_WORK = {**_ONE, "campaign.not_running": 409, "campaign.not_assigned": 403}
_STEP = {**_WORK, "campaign.unknown_contact": 404, "campaign.not_your_contact": 403, "campaign.bad_outcome": 400,
         "campaign.contact_transition_not_allowed": 409, "campaign.version_conflict": 409}  # fmt: skip

_OPERATIONS: tuple[tuple[str, str, str, dict[str, int]], ...] = (
    (
        "post",
        "/v1/campaigns",
        "create a draft campaign: kind, preview or progressive mode, ratio, time zone, "
        "calling hours, retry rules, agents, script (team leaders and up)",
        {**_BASE, "campaign.duplicate_name": 409, "campaign.unknown_time_zone": 400},
    ),
    ("get", "/v1/campaigns", "every campaign", _BASE),
    ("get", "/v1/campaigns/{id}", "one campaign with its progress by contact state and outcome", _ONE),
    (
        "post",
        "/v1/campaigns/{id}/contacts",
        "a CSV contact list (phone, customer_number, name, tz, priority, "
        "data columns): a validation report per row; dry_run=1 checks only",
        {
            **_ONE,
            "campaign.bad_list": 400,
            "campaign.missing_column": 400,
            "campaign.sensitive_column": 400,
            "campaign.finished": 409,
        },
    ),
    (
        "post",
        "/v1/campaigns/{id}/preview",
        "the contact offered to the calling agent now (204: nobody is due); "
        "do-not-call and the customer's consent are checked, calling hours in the contact's zone",
        _WORK,
    ),
    (
        "get",
        "/v1/campaigns/{id}/contacts/{cid}",
        "one contact with every step it took",
        {**_ONE, "campaign.unknown_contact": 404},
    ),
    (
        "post",
        "/v1/campaigns/{id}/contacts/{cid}",
        "a step of the agent's contact: skip (reason), dial, "
        "answered, outcome (reached, no_answer, busy, wrong_number, refused, promise_to_pay with date and amount), "
        "block (adds the number to the do-not-call list)",
        _STEP,
    ),
    (
        "post",
        "/v1/campaigns/{id}/{event}",
        "start, pause, resume or finish a campaign",
        {**_ONE, "campaign.transition_not_allowed": 409, "campaign.version_conflict": 409, "campaign.empty_list": 409},
    ),
    ("post", "/v1/do-not-call", "bar a number from every campaign (reason required)", _BASE),
    ("delete", "/v1/do-not-call/{phone}", "lift a do-not-call entry", _BASE),
)


def describe_campaigns(doc: ApiDoc) -> None:
    for method, path, summary, errors in _OPERATIONS:
        doc.op(method, path, summary, errors=errors)
