"""The QA API's part of central's OpenAPI document (issue 19)."""

from __future__ import annotations

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_BASE = {**TOKEN_ERRORS, "role.forbidden": 403, "request.bad_field": 400, "qa.bad_answer": 400,
         "qa.unavailable": 503}  # fmt: skip
_FORM = {**_BASE, "qa.unknown_form": 404}
_ONE = {**_BASE, "qa.unknown_evaluation": 404, "qa.not_yours": 403}

_OPERATIONS: tuple[tuple[str, str, str, dict[str, int]], ...] = (
    ("post", "/v1/qa/forms/{form_id}", "publish the next version of a scorecard form: title, sections of "
     "criteria (id, text, kind yes_no|scale, weight, scale_max, allow_na, auto_fail) (managers and up)",
     {**_BASE, "qa.bad_form": 400}),
    ("get", "/v1/qa/forms/{form_id}", "a version of a form (version=; the latest by default)", _FORM),
    ("post", "/v1/qa/evaluations", "score a recorded call: form_id, version, call {call_id, agent_id, queue, "
     "team}, answers (criterion -> true/false, 0..scale_max, null for N/A), comments [{at_s, text}]", _FORM),
    ("get", "/v1/qa/evaluations/mine", "the caller's own evaluations (any call role)", _BASE),
    ("post", "/v1/qa/evaluations/{id}/{answer}", "the evaluated agent acknowledges (answer=acknowledge) or "
     "disputes (answer=dispute, {response}) an evaluation", _ONE),
    ("get", "/v1/qa/results", "evaluations, mean score and auto-fails per agent, team or queue (by=, from, to)",
     _BASE),
    ("get", "/v1/qa/calibration/{call_id}", "every evaluator's score of one call with one form version "
     "(form_id, version): scores, mean, range, stdev, the criteria they disagree on", _FORM),
)  # fmt: skip


def describe_qa(doc: ApiDoc) -> None:
    for method, path, summary, errors in _OPERATIONS:
        doc.op(method, path, summary, errors=errors)
