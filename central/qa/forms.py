"""A scorecard form: sections of weighted criteria, each answered yes/no or on a scale, N/A where
the criterion allows it, some auto-failing the whole evaluation when missed. Forms are versioned:
an evaluation names the ``(form_id, version)`` it was scored with, and a new version never
changes the old one. :func:`parse_form` checks a JSON document and names the first bad element.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from central.qa.errors import BadForm

Kind = Literal["yes_no", "scale"]
MAX_CRITERIA = 200


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    text: str
    kind: Kind
    weight: float
    scale_max: int = 1
    allow_na: bool = False
    auto_fail: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Form:
    form_id: str
    version: int
    title: str
    sections: tuple[Section, ...]

    def criteria(self) -> dict[str, Criterion]:
        return {c.id: c for s in self.sections for c in s.criteria}


def _text(doc: Mapping[str, Any], key: str, where: str, *, limit: int = 200) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadForm(f"{where}{key}: a text of 1 to {limit} characters", field=f"{where}{key}")
    return value.strip()


def _criterion(doc: Any, where: str) -> Criterion:
    if not isinstance(doc, Mapping):
        raise BadForm(f"{where}: an object", field=where)
    at = where + "."
    kind = doc.get("kind")
    if kind not in ("yes_no", "scale"):
        raise BadForm(f"{at}kind: yes_no or scale", field=f"{at}kind")
    weight = doc.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 100:
        raise BadForm(f"{at}weight: a number above 0, at most 100", field=f"{at}weight")
    scale_max = doc.get("scale_max", 5 if kind == "scale" else 1)
    if kind == "scale" and (isinstance(scale_max, bool) or not isinstance(scale_max, int) or not 2 <= scale_max <= 10):
        raise BadForm(f"{at}scale_max: a whole number from 2 to 10", field=f"{at}scale_max")
    flags = {name: doc.get(name, False) for name in ("allow_na", "auto_fail")}
    for name, flag in flags.items():
        if not isinstance(flag, bool):
            raise BadForm(f"{at}{name}: true or false", field=f"{at}{name}")
    return Criterion(id=_text(doc, "id", at, limit=40), text=_text(doc, "text", at, limit=500), kind=kind,
                     weight=float(weight), scale_max=scale_max if kind == "scale" else 1, **flags)  # fmt: skip


def parse_form(doc: Mapping[str, Any], *, form_id: str, version: int) -> Form:
    sections_doc = doc.get("sections")
    if not isinstance(sections_doc, list) or not sections_doc:
        raise BadForm("sections: a list of at least one section", field="sections")
    sections, seen = [], set()
    for i, section in enumerate(sections_doc):
        where = f"sections[{i}]"
        if not isinstance(section, Mapping):
            raise BadForm(f"{where}: an object", field=where)
        criteria_doc = section.get("criteria")
        if not isinstance(criteria_doc, list) or not criteria_doc:
            raise BadForm(f"{where}.criteria: a list of at least one criterion", field=f"{where}.criteria")
        criteria = []
        for j, raw in enumerate(criteria_doc):
            criterion = _criterion(raw, f"{where}.criteria[{j}]")
            if criterion.id in seen:
                raise BadForm(f"{where}.criteria[{j}].id: {criterion.id!r} is used twice",
                              field=f"{where}.criteria[{j}].id")  # fmt: skip
            seen.add(criterion.id)
            criteria.append(criterion)
        sections.append(Section(_text(section, "id", where + ".", limit=40),
                                _text(section, "title", where + "."), tuple(criteria)))  # fmt: skip
    if len(seen) > MAX_CRITERIA:
        raise BadForm(f"sections: at most {MAX_CRITERIA} criteria in a form", field="sections")
    return Form(form_id=form_id, version=version, title=_text(doc, "title", ""), sections=tuple(sections))
