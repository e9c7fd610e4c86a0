"""The score of an evaluation and the spread of a calibration (pure).

Each answered criterion earns a fraction of its weight (yes 1, no 0, a scale value / its
maximum); N/A criteria leave the total; the score is earned / possible x 100, rounded to 0.1.
A missed auto-fail criterion (no, or 0 on a scale) makes the score 0 whatever else was earned.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from central.qa.errors import BadAnswer
from central.qa.forms import Criterion, Form

Answer = bool | int | None
"""yes/no as bool, a scale as int 0..scale_max, N/A as None."""


@dataclass(frozen=True, slots=True)
class Score:
    score: float
    auto_failed: tuple[str, ...]
    earned: float
    possible: float


def _fraction(criterion: Criterion, answer: Answer) -> float:
    if criterion.kind == "yes_no":
        if not isinstance(answer, bool):
            raise BadAnswer(f"answers.{criterion.id}: yes (true) or no (false)", field=f"answers.{criterion.id}")
        return 1.0 if answer else 0.0
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer <= criterion.scale_max:
        raise BadAnswer(f"answers.{criterion.id}: a whole number from 0 to {criterion.scale_max}",
                        field=f"answers.{criterion.id}")  # fmt: skip
    return answer / criterion.scale_max


def score(form: Form, answers: Mapping[str, Answer]) -> Score:
    criteria = form.criteria()
    unknown = sorted(set(answers) - set(criteria))
    if unknown:
        raise BadAnswer(f"answers.{unknown[0]}: not a criterion of this form", field=f"answers.{unknown[0]}")
    earned = possible = 0.0
    failed = []
    for cid, criterion in criteria.items():
        if cid not in answers:
            raise BadAnswer(f"answers.{cid}: not answered", field=f"answers.{cid}")
        answer = answers[cid]
        if answer is None:
            if not criterion.allow_na:
                raise BadAnswer(f"answers.{cid}: N/A is not allowed here", field=f"answers.{cid}")
            continue
        fraction = _fraction(criterion, answer)
        earned += criterion.weight * fraction
        possible += criterion.weight
        if criterion.auto_fail and fraction == 0.0:
            failed.append(cid)
    value = 0.0 if failed or possible == 0 else round(100 * earned / possible, 1)
    return Score(score=value, auto_failed=tuple(failed), earned=earned, possible=possible)


@dataclass(frozen=True, slots=True)
class Spread:
    scores: tuple[float, ...]
    mean: float
    range: float
    stdev: float
    disagreements: tuple[str, ...]  # criteria the evaluators answered differently


def calibration(form: Form, evaluations: Sequence[Mapping[str, Answer]]) -> Spread:
    """Several evaluators' answers for the same call: their scores and how far apart they are."""
    if len(evaluations) < 2:
        raise BadAnswer("evaluations: a calibration needs at least two evaluators", field="evaluations")
    scores = tuple(score(form, answers).score for answers in evaluations)
    differ = tuple(cid for cid in form.criteria() if len({repr(e[cid]) for e in evaluations}) > 1)
    return Spread(scores=scores, mean=round(statistics.fmean(scores), 1), range=round(max(scores) - min(scores), 1),
                  stdev=round(statistics.pstdev(scores), 1), disagreements=differ)  # fmt: skip
