"""The pure SOP interpreter: every element type, every operation, and every bad input refused
with an ``sop.*`` id naming the element, the state given unchanged."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from central.sop import engine as e
from central.sop.definition import Definition, load_document, parse_definition
from central.sop.engine import Cancel, Resolve, Resolved, RollBack, Start, State, Step, Submit, TimerDue, step
from central.sop.errors import SopError
from tests.sop.flows import chain, lost_item

T0 = 1_000.0
DESCRIBE = {"trip_id": "T-1", "item": "phone", "value": 800}


@pytest.fixture
def flow() -> Definition:
    return parse_definition(lost_item())


def _started(flow: Definition) -> State:
    begun = step(flow, None, Start({"customer": "C-1"}), T0)
    assert begun.state.status == e.RUNNING and begun.state.at == "describe" and begun.effects == ()
    assert begun.state.path == ("start", "describe")
    return begun.state


def _at_driver(flow: Definition, values: dict[str, Any] = DESCRIBE) -> Step:
    return step(flow, _started(flow), Submit("describe", "agent", values), T0 + 1)


def test_a_user_task_waits_for_its_form_then_a_service_task_asks_for_resources(flow: Definition) -> None:
    moved = _at_driver(flow)
    assert moved.state.at == "driver" and moved.state.data == {"customer": "C-1", **DESCRIBE}
    assert moved.effects == (Resolve("driver", {"driver": "trip.driver_name"}, {"trip_id": "T-1"}),)


def test_the_gateway_takes_the_first_branch_that_holds_and_the_end_gives_the_outcome(flow: Definition) -> None:
    at_confirm = step(flow, _at_driver(flow).state, Resolved("driver", {"driver": "Ann", "x": 1}, {}), T0 + 2)
    assert at_confirm.state.at == "confirm" and at_confirm.state.data["driver"] == "Ann"
    assert "x" not in at_confirm.state.data  # only the fields the task names land in the data
    done = step(flow, at_confirm.state, Submit("confirm", "agent", {"found": True, "pickup": "2026-12-04"}), T0 + 3)
    assert done.state.status == e.COMPLETED and done.state.outcome == "reported" and done.state.at is None
    assert done.effects == (e.Ended(e.COMPLETED, "reported"),)
    assert done.state.path == ("start", "describe", "driver", "route", "confirm", "done")


def test_the_gateway_default_leads_to_a_timer_on_the_given_clock(flow: Definition) -> None:
    cheap = _at_driver(flow, {**DESCRIBE, "value": 20}).state
    waiting = step(flow, cheap, Resolved("driver", {"driver": "Bo"}, {}), T0 + 2)
    assert waiting.state.at == "wait" and waiting.state.due_at == T0 + 2 + 3600
    assert waiting.effects == (e.WaitUntil("wait", T0 + 3602),)
    with pytest.raises(SopError) as early:
        step(flow, waiting.state, TimerDue("wait"), T0 + 3601)
    assert early.value.error_id == "sop.not_waiting"
    fired = step(flow, waiting.state, TimerDue("wait"), T0 + 3602)
    assert fired.state.at == "callback" and fired.state.due_at is None


def test_a_failed_service_task_takes_its_error_path_or_fails_the_instance(flow: Definition) -> None:
    errors = {"driver": {"error_id": "resources.timeout", "message": "no answer"}}
    moved = step(flow, _at_driver(flow).state, Resolved("driver", {}, errors), T0 + 2)
    assert moved.state.at == "callback" and moved.state.data["_errors"] == {"driver": errors}
    document = lost_item()
    del document["elements"][2]["on_error"]
    strict = parse_definition(document)
    failed = step(strict, _at_driver(strict).state, Resolved("driver", {}, errors), T0 + 2)
    assert failed.state.status == e.FAILED and failed.effects == (e.Ended(e.FAILED, "service_error"),)


def test_the_web_channel_shows_and_accepts_only_its_fields(flow: Definition) -> None:
    form = flow.element("describe").form
    assert form is not None and [f["name"] for f in form.variant("web")] == ["trip_id", "item", "value"]
    assert [f["name"] for f in form.variant("agent")] == ["trip_id", "item", "value", "agent_note"]
    moved = step(flow, _started(flow), Submit("describe", "web", DESCRIBE), T0)
    assert moved.state.at == "driver"


def test_roll_back_restores_the_data_of_the_earlier_task_and_runs_again(flow: Definition) -> None:
    confirm = step(flow, _at_driver(flow).state, Resolved("driver", {"driver": "Ann"}, {}), T0 + 2).state
    back = step(flow, confirm, RollBack("describe"), T0 + 3)
    assert back.state.at == "describe" and back.state.data == {"customer": "C-1"} and back.effects == ()
    assert [v.element for v in back.state.trail] == ["describe"]
    again = step(flow, back.state, Submit("describe", "agent", {**DESCRIBE, "value": 1}), T0 + 4)
    assert again.state.at == "driver" and again.state.data["value"] == 1
    # a roll back from a timer cancels the wait
    waiting = step(flow, again.state, Resolved("driver", {"driver": "Ann"}, {}), T0 + 5).state
    assert waiting.at == "wait"
    assert step(flow, waiting, RollBack("describe"), T0 + 6).state.due_at is None


def test_cancel_ends_the_instance_with_its_reason(flow: Definition) -> None:
    cancelled = step(flow, _started(flow), Cancel("customer_hung_up"), T0)
    assert cancelled.state.status == e.CANCELLED and cancelled.effects == (e.Ended(e.CANCELLED, "customer_hung_up"),)
    with pytest.raises(SopError) as again:
        step(flow, cancelled.state, Submit("describe", "agent", DESCRIBE), T0)
    assert again.value.error_id == "sop.finished"


def test_the_state_survives_a_round_trip_through_json(flow: Definition) -> None:
    state = step(flow, _at_driver(flow).state, Resolved("driver", {"driver": "Ann"}, {}), T0 + 2).state
    assert State.from_dict(copy.deepcopy(state.to_dict())) == state


BAD_SUBMITS = [
    ({"item": "phone", "value": 1}, "trip_id", "sop.invalid_submission"),  # required
    ({**DESCRIBE, "item": "car"}, "item", "sop.invalid_submission"),  # not a choice
    ({**DESCRIBE, "value": "many"}, "value", "sop.invalid_submission"),  # not a number
    ({**DESCRIBE, "value": -1}, "value", "sop.invalid_submission"),  # below min
    ({**DESCRIBE, "value": True}, "value", "sop.invalid_submission"),  # a boolean is no number
    ({**DESCRIBE, "trip_id": "x" * 21}, "trip_id", "sop.invalid_submission"),  # too long
    ({**DESCRIBE, "colour": "red"}, "colour", "sop.invalid_submission"),  # not a field
]


@pytest.mark.parametrize(("values", "field", "error_id"), BAD_SUBMITS)
def test_a_submit_with_invalid_data_is_refused_naming_the_field(flow: Definition, values: dict[str, Any],
                                                                field: str, error_id: str) -> None:  # fmt: skip
    state = _started(flow)
    before = copy.deepcopy(state.to_dict())
    with pytest.raises(SopError) as refused:
        step(flow, state, Submit("describe", "agent", values), T0)
    assert (refused.value.error_id, refused.value.details["field"], refused.value.details["element"]) == (
        error_id, field, "describe")  # fmt: skip
    assert state.to_dict() == before


def test_wrong_events_are_refused_and_change_nothing(flow: Definition) -> None:
    state = _started(flow)
    before = state.to_dict()
    cases: list[tuple[e.Event, str]] = [
        (Submit("confirm", "agent", {"found": True}), "sop.not_waiting"),  # not the task waited on
        (Submit("nowhere", "agent", {}), "sop.unknown_element"),
        (Submit("describe", "fax", DESCRIBE), "sop.invalid_submission"),  # no such channel
        (Submit("describe", "web", {**DESCRIBE, "agent_note": "x"}), "sop.invalid_submission"),  # agent-only field
        (Resolved("describe", {}, {}), "sop.not_waiting"),
        (TimerDue("describe"), "sop.not_waiting"),
        (RollBack("start"), "sop.bad_rollback"),  # past the start
        (RollBack("describe"), "sop.bad_rollback"),  # the task it is at is no earlier task
        (RollBack("confirm"), "sop.bad_rollback"),  # never reached
        (Start({}), "sop.already_started"),
    ]
    for event, error_id in cases:
        with pytest.raises(SopError) as refused:
            step(flow, state, event, T0)
        assert refused.value.error_id == error_id, event
    assert state.to_dict() == before
    with pytest.raises(SopError) as unstarted:
        step(flow, None, Cancel("x"), T0)
    assert unstarted.value.error_id == "sop.not_started"


def _without(document: dict[str, Any], element: str, key: str) -> dict[str, Any]:
    for item in document["elements"]:
        if item["id"] == element:
            del item[key]
    return document


def _with(document: dict[str, Any], element: str, **values: Any) -> dict[str, Any]:
    for item in document["elements"]:
        if item["id"] == element:
            item.update(values)
    return document


def _field_type(kind: str) -> dict[str, Any]:
    document = lost_item()
    document["elements"][1]["form"]["fields"][1]["type"] = kind
    return document


BAD_DEFINITIONS = [
    (_with(lost_item(), "confirm", next="nowhere"), "sop.unknown_element", "confirm"),
    (_with(lost_item(), "route", branches=[{"when": "value > 500", "to": "done"}]), "sop.unreachable", "confirm"),
    (_without(lost_item(), "route", "default"), "sop.no_default_path", "route"),
    (_field_type("colour"), "sop.unknown_field_type", "describe"),
    (_with(lost_item(), "route", branches=[{"when": "__import__('os')", "to": "confirm"}]), "sop.bad_condition",
     "route"),
    (_with(lost_item(), "route", branches=[{"when": "value.real > 1", "to": "confirm"}]), "sop.bad_condition",
     "route"),
    (_with(lost_item(), "wait", after_s=-1), "sop.bad_definition", "wait"),
    (_with(lost_item(), "wait", colour="red"), "sop.bad_definition", "wait"),
    (_with(lost_item(), "driver", resolve={}), "sop.bad_definition", "driver"),
    (_with(lost_item(), "done", type="finish"), "sop.bad_definition", "done"),
    (_with(lost_item(), "confirm", next="start"), "sop.bad_definition", "confirm"),
    (_with(lost_item(), "describe", form={"fields": [{"name": "pin", "type": "text"}]}), "sop.sensitive_field",
     "describe"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "error_id", "element"), BAD_DEFINITIONS)
def test_a_bad_definition_is_refused_naming_the_element(document: dict[str, Any], error_id: str,
                                                        element: str) -> None:  # fmt: skip
    with pytest.raises(SopError) as refused:
        parse_definition(document)
    assert (refused.value.error_id, refused.value.details.get("element")) == (error_id, element), refused.value


def test_documents_come_as_yaml_or_json_and_need_one_start_and_an_end() -> None:
    assert parse_definition(load_document("key: one\nelements:\n - {id: s, type: start, next: e}\n"
                                          " - {id: e, type: end}\n")).start == "s"  # fmt: skip
    for text, error_id in (("[1, 2", "sop.bad_definition"), ("- a list", "sop.bad_definition")):
        with pytest.raises(SopError) as refused:
            load_document(text)
        assert refused.value.error_id == error_id
    for elements in ([{"id": "e", "type": "end"}], [{"id": "s", "type": "start", "next": "s2"},
                                                    {"id": "s2", "type": "start", "next": "e"}]):  # fmt: skip
        with pytest.raises(SopError):
            parse_definition({"key": "x", "elements": elements})


def test_a_chain_of_ten_tasks_runs_to_its_end() -> None:
    flow = parse_definition(chain(10))
    state = step(flow, None, Start(), T0).state
    for i in range(1, 11):
        state = step(flow, state, Submit(f"t{i}", "agent", {f"answer_{i}": "ok", f"score_{i}": i % 10}), T0 + i).state
    assert state.status == e.COMPLETED and state.outcome == "done" and len(state.trail) == 10
