"""The resource engine's part of central's OpenAPI document (issue 20)."""

from __future__ import annotations

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_BASE = {**TOKEN_ERRORS, "role.forbidden": 403, "request.malformed_json": 400}
_RESOLVE = {**_BASE, "resources.bad_request": 400, "resources.unknown_field": 400, "resources.missing_input": 400,
            "resources.cycle": 400, "resources.forbidden": 403}  # fmt: skip


def describe_resources(doc: ApiDoc) -> None:
    doc.op("post", "/v1/resources/resolve", "resolve fields from the back offices: {fields, inputs, flow?, "
           "deadline_ms?} -> {values, errors (per field: error_id, message), plan (levels of steps)}; the "
           "calls of one level run in parallel, each with its timeout and retries, inside the deadline",
           errors=_RESOLVE)  # fmt: skip
    doc.op(
        "get",
        "/v1/resources",
        "catalogs and versions; per resource: calls, errors, error rate, mean latency",
        errors=_BASE,
    )
