"""QA's pure core: form validation naming the element, the score, calibration spread, the sample."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from central.qa.errors import BadAnswer, BadForm, BadSampleRules
from central.qa.forms import parse_form
from central.qa.sampling import SampleRules, weekly_sample
from central.qa.scoring import calibration, score

FORM: dict[str, Any] = {
    "title": "Retail banking calls",
    "sections": [
        {"id": "open", "title": "Opening", "criteria": [
            {"id": "greet", "text": "Greets with name and bank", "kind": "yes_no", "weight": 1},
            {"id": "verify", "text": "Verifies identity before account details", "kind": "yes_no", "weight": 3,
             "auto_fail": True}]},
        {"id": "care", "title": "Care", "criteria": [
            {"id": "empathy", "text": "Empathy", "kind": "scale", "scale_max": 4, "weight": 2},
            {"id": "offer", "text": "Offers a relevant product", "kind": "yes_no", "weight": 2, "allow_na": True}]},
    ],
}  # fmt: skip


def test_a_form_is_parsed_and_versioned() -> None:
    form = parse_form(FORM, form_id="retail", version=2)
    assert (form.form_id, form.version, [s.id for s in form.sections]) == ("retail", 2, ["open", "care"])
    assert form.criteria()["empathy"].scale_max == 4 and form.criteria()["verify"].auto_fail


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [(("sections",), [], "sections"), (("sections", 0, "criteria", 1, "weight"), 0, "sections[0].criteria[1].weight"),
     (("sections", 1, "criteria", 0, "scale_max"), 11, "sections[1].criteria[0].scale_max"),
     (("sections", 1, "criteria", 0, "kind"), "stars", "sections[1].criteria[0].kind"),
     (("sections", 1, "criteria", 1, "id"), "greet", "sections[1].criteria[1].id"),
     (("sections", 0, "criteria", 0, "auto_fail"), "yes", "sections[0].criteria[0].auto_fail"),
     (("title",), "", "title")],
)  # fmt: skip
def test_a_bad_form_is_refused_naming_the_element(path: tuple[Any, ...], value: Any, field: str) -> None:
    doc = copy.deepcopy(FORM)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(BadForm) as error:
        parse_form(doc, form_id="retail", version=1)
    assert (error.value.error_id, error.value.status, error.value.details["field"]) == ("qa.bad_form", 400, field)


def test_the_score_weighs_answers_skips_na_and_auto_fails() -> None:
    form = parse_form(FORM, form_id="retail", version=1)
    good = {"greet": True, "verify": True, "empathy": 3, "offer": None}  # (1 + 3 + 2*0.75) / 6
    assert score(form, good).score == 91.7
    assert score(form, {**good, "offer": True}).score == 93.8  # (1 + 3 + 1.5 + 2) / 8
    failed = score(form, {**good, "verify": False})
    assert (failed.score, failed.auto_failed) == (0.0, ("verify",))


@pytest.mark.parametrize(
    ("answers", "field"),
    [({"greet": True, "verify": True, "empathy": 5, "offer": None}, "answers.empathy"),
     ({"greet": None, "verify": True, "empathy": 1, "offer": None}, "answers.greet"),
     ({"greet": 1, "verify": True, "empathy": 1, "offer": None}, "answers.greet"),
     ({"verify": True, "empathy": 1, "offer": None}, "answers.greet"),
     ({"greet": True, "verify": True, "empathy": 1, "offer": None, "smile": True}, "answers.smile")],
)  # fmt: skip
def test_a_bad_answer_is_refused_naming_the_criterion(answers: dict[str, Any], field: str) -> None:
    with pytest.raises(BadAnswer) as error:
        score(parse_form(FORM, form_id="retail", version=1), answers)
    assert (error.value.error_id, error.value.details["field"]) == ("qa.bad_answer", field)


def test_calibration_shows_the_spread_and_where_evaluators_differ() -> None:
    form = parse_form(FORM, form_id="retail", version=1)
    base = {"greet": True, "verify": True, "empathy": 4, "offer": True}
    spread = calibration(form, [base, {**base, "empathy": 2}, {**base, "greet": False, "empathy": 2}])
    assert spread.scores == (100.0, 87.5, 75.0)
    assert (spread.mean, spread.range, spread.disagreements) == (87.5, 25.0, ("greet", "empathy"))
    with pytest.raises(BadAnswer):
        calibration(form, [base])


def _cdr(call_id: str, agent: str, *, transfers: int = 0, handle: float = 120) -> dict[str, Any]:
    return {"call_id": call_id, "agent_id": agent, "answered_at": 1000.0, "wrap_up_end_at": 1000.0 + handle,
            "transfers": transfers}  # fmt: skip


def test_the_weekly_sample_takes_transfers_long_calls_then_a_seeded_random_pick() -> None:
    calls = [_cdr(f"a-{i:02}", "a1") for i in range(20)] + [_cdr("a-t", "a1", transfers=1),
             _cdr("a-long", "a1", handle=900), _cdr("b-1", "b2"), {"call_id": "x", "agent_id": "a1"}]  # fmt: skip
    rules = SampleRules(per_agent=4, seed="s1", long_handle_s=600)
    sample = weekly_sample(calls, rules, week="2026-W49")
    assert sample["a1"][:2] == ["a-t", "a-long"] and len(sample["a1"]) == 4 and "x" not in sample["a1"]
    assert sample["b2"] == ["b-1"]
    assert weekly_sample(list(reversed(calls)), rules, week="2026-W49") == sample  # repeatable
    other_weeks = {tuple(weekly_sample(calls, rules, week=f"2026-W{w}")["a1"][2:]) for w in range(40, 48)}
    assert len(other_weeks) > 1  # the random part changes with the week
    assert weekly_sample(calls, SampleRules(per_agent=2, transfers=False, long_handle_s=None), week="w")["a1"] != [
        "a-t", "a-long"]  # fmt: skip
    with pytest.raises(BadSampleRules) as error:
        SampleRules(per_agent=0)
    assert error.value.details["field"] == "per_agent"
