"""QA errors; each names the element it refuses (``details["field"]``, e.g. ``sections[0].criteria[1].weight``)."""

from __future__ import annotations

from cluster.errors import CallCenterError


class BadForm(CallCenterError):
    error_id = "qa.bad_form"
    status = 400


class BadAnswer(CallCenterError):
    error_id = "qa.bad_answer"
    status = 400


class BadSampleRules(CallCenterError):
    error_id = "qa.bad_sample_rules"
    status = 400


class UnknownForm(CallCenterError):
    error_id = "qa.unknown_form"
    status = 404


class UnknownEvaluation(CallCenterError):
    error_id = "qa.unknown_evaluation"
    status = 404


class NotYours(CallCenterError):
    error_id = "qa.not_yours"
    status = 403
