"""The SOP API's part of central's OpenAPI document (issue 22)."""

from __future__ import annotations

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_BASE = {**TOKEN_ERRORS, "role.forbidden": 403, "request.malformed_json": 400, "sop.bad_request": 400}
_ONE = {**_BASE, "sop.unknown": 404}
_MOVE = {**_ONE, "sop.finished": 409, "sop.version_conflict": 409, "sop.not_waiting": 409}
_PUBLISH = {**_BASE, "sop.bad_definition": 400, "sop.unknown_element": 400, "sop.unreachable": 400,
            "sop.no_default_path": 400, "sop.unknown_field_type": 400, "sop.bad_condition": 400,
            "sop.sensitive_field": 400, "sop.version_conflict": 409}  # fmt: skip

_OPERATIONS: tuple[tuple[str, str, str, dict[str, int]], ...] = (
    ("post", "/v1/sop/definitions", "publish the next version of a definition (JSON, or YAML with Content-Type: "
     "application/yaml): key, title, elements (start, user_task with a form, service_task resolving resource "
     "fields, gateway with conditions and a default, timer, end); refused whole, naming the element "
     "(team leaders and up)", _PUBLISH),
    ("get", "/v1/sop/definitions", "the newest version of every definition", _BASE),
    ("get", "/v1/sop/definitions/{key}", "a version's document (version=n; the newest by default)", _ONE),
    ("post", "/v1/sop/instances", "start an instance of the newest version (or version): key, data (named "
     "values, e.g. the customer), call_id; it keeps that version's snapshot", _ONE),
    ("get", "/v1/sop/instances/{id}", "status, the task waited on with its form for channel=agent|web, data, "
     "path, the tasks it can roll back to, revision", _ONE),
    ("get", "/v1/sop/instances/{id}/history", "every event of the instance: who, when, what, where it went",
     _ONE),
    ("post", "/v1/sop/instances/{id}/submit", "submit the waited-on task's form: element, data, channel, "
     "revision (optional fence); invalid data is refused naming the field, the instance unchanged",
     {**_MOVE, "sop.invalid_submission": 400}),
    ("post", "/v1/sop/instances/{id}/rollback", "go back to an earlier user task (to), restoring the data as it "
     "was then", {**_MOVE, "sop.bad_rollback": 409}),
    ("post", "/v1/sop/instances/{id}/cancel", "cancel the instance with a reason", _MOVE),
)  # fmt: skip


def describe_sop(doc: ApiDoc) -> None:
    for method, path, summary, errors in _OPERATIONS:
        doc.op(method, path, summary, errors=errors)
