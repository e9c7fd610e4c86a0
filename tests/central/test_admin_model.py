"""The administration's validation table (pure): every bad change is refused naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from central.admin.errors import AdminInvalid, AdminNotFound, AdminVersionConflict
from central.admin.model import Catalog, Published, plan_change

CATALOG = Catalog({
    "skills": {"cards": Published(1, {}), "loans": Published(1, {})},
    "agents": {"north-05": Published(3, {"skills": {"cards": 5}, "team": "north-a", "active": True})},
    "queues": {"cards": Published(1, {"skill": "cards", "min_level": 1, "sl_threshold_s": 20.0})},
    "codes": {"not_ready": Published(1, {"codes": ["break", "lunch"]})},
})  # fmt: skip

REFUSED: list[tuple[str, str, dict[str, Any], type[Exception], str]] = [
    ("agents", "north-05", {"version": 3, "skills": {"cards": 11}}, AdminInvalid, "skills.cards"),
    ("agents", "north-05", {"version": 3, "skills": {"cards": 0}}, AdminInvalid, "skills.cards"),
    ("agents", "north-05", {"version": 3, "skills": {"cards": True}}, AdminInvalid, "skills.cards"),
    ("agents", "north-05", {"version": 3, "skills": {"cards": "5"}}, AdminInvalid, "skills.cards"),
    ("agents", "north-05", {"version": 3, "skills": {"forex": 5}}, AdminInvalid, "skills.forex"),
    ("agents", "north-05", {"version": 3, "skills": {}}, AdminInvalid, "skills"),
    ("agents", "north-05", {"version": 3, "team": ""}, AdminInvalid, "team"),
    ("agents", "north-05", {"version": 3, "active": "no"}, AdminInvalid, "active"),
    ("agents", "north-05", {"version": 3, "password": "x"}, AdminInvalid, "password"),
    ("agents", "north-05", {"skills": {"cards": 5}}, AdminInvalid, "version"),
    ("agents", "nobody", {"version": 0, "skills": {"cards": 5}}, AdminNotFound, "agent_id"),
    ("agents", "north-05", {"version": 2, "skills": {"cards": 6}}, AdminVersionConflict, ""),
    ("queues", "cards", {"version": 1, "skill": "forex"}, AdminInvalid, "skill"),
    ("queues", "cards", {"version": 1, "min_level": 12}, AdminInvalid, "min_level"),
    ("queues", "cards", {"version": 1, "sl_threshold_s": 0}, AdminInvalid, "sl_threshold_s"),
    ("queues", "nowhere", {"version": 1, "skill": "cards"}, AdminNotFound, "queue"),
    ("codes", "not_ready", {"version": 1, "codes": []}, AdminInvalid, "codes"),
    ("codes", "not_ready", {"version": 1, "codes": ["Lunch Break"]}, AdminInvalid, "codes[0]"),
    ("codes", "not_ready", {"version": 1, "codes": ["a", "a"]}, AdminInvalid, "codes"),
    ("codes", "holidays", {"version": 0, "codes": ["a"]}, AdminNotFound, "list"),
    ("skills", "cards", {"version": 1}, AdminNotFound, "kind"),
]


@pytest.mark.parametrize(("kind", "object_id", "body", "error", "field"), REFUSED)
def test_a_bad_change_is_refused_naming_its_field(
    kind: str, object_id: str, body: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as caught:
        plan_change(kind, object_id, body, CATALOG)
    assert caught.value.details.get("field", "") == field  # type: ignore[attr-defined]
    assert "nothing changed" in str(caught.value) or error is AdminNotFound


def test_an_agent_change_keeps_the_fields_it_does_not_name() -> None:
    planned = plan_change("agents", "north-05", {"version": 3, "skills": {"cards": 7, "loans": 2}}, CATALOG)
    assert planned == Published(4, {"skills": {"cards": 7, "loans": 2}, "team": "north-a", "active": True})
    planned = plan_change("agents", "north-05", {"version": 3, "active": False, "team": None}, CATALOG)
    assert planned.document == {"skills": {"cards": 5}, "team": None, "active": False}


def test_queue_and_code_changes_make_the_next_version() -> None:
    planned = plan_change("queues", "cards", {"version": 1, "skill": "loans", "min_level": 3}, CATALOG)
    assert planned == Published(2, {"skill": "loans", "min_level": 3, "sl_threshold_s": 20.0})
    assert plan_change("codes", "not_ready", {"version": 1, "codes": ["coaching"]}, CATALOG).version == 2
    assert plan_change("codes", "wrap_up", {"version": 0, "codes": ["resolved"]}, CATALOG).version == 1  # first one
