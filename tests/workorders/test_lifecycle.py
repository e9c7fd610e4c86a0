import itertools

import pytest

from central.workorders.errors import TransitionNotAllowed, UnknownEvent
from central.workorders.lifecycle import TABLE, Effect, Event, Status, parse_event, transition

S, E = Status, Event
EXPECTED = {
    (S.NEW, E.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, E.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, E.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.ASSIGN): S.ASSIGNED,
    (S.IN_PROGRESS, E.WAIT_FOR_CUSTOMER): S.WAITING_FOR_CUSTOMER,
    (S.IN_PROGRESS, E.RESOLVE): S.RESOLVED,
    (S.WAITING_FOR_CUSTOMER, E.CUSTOMER_REPLIED): S.IN_PROGRESS,
    (S.WAITING_FOR_CUSTOMER, E.RESOLVE): S.RESOLVED,
    (S.RESOLVED, E.CLOSE): S.CLOSED,
    (S.RESOLVED, E.REOPEN): S.REOPENED,
    (S.CLOSED, E.REOPEN): S.REOPENED,
    (S.REOPENED, E.ASSIGN): S.ASSIGNED,
    (S.REOPENED, E.START): S.IN_PROGRESS,
}


@pytest.mark.parametrize(("status", "event"), list(itertools.product(Status, Event)))
def test_every_status_and_event(status: Status, event: Event) -> None:
    if (status, event) in EXPECTED:
        assert transition(status, event).status is EXPECTED[(status, event)]
    else:
        with pytest.raises(TransitionNotAllowed) as raised:
            transition(status, event)
        assert raised.value.error_id == "workorder.transition_not_allowed"
        assert raised.value.status == 409
        assert raised.value.details["allowed"] == sorted(e.value for (s, e) in EXPECTED if s is status)


def test_the_table_is_the_expected_one() -> None:
    assert {k: v.status for k, v in TABLE.items()} == EXPECTED


def test_effects_of_the_lifecycle() -> None:
    assert Effect.RESOLVED in transition(S.IN_PROGRESS, E.RESOLVE).effects
    assert Effect.RESOLVED in transition(S.WAITING_FOR_CUSTOMER, E.RESOLVE).effects
    assert transition(S.ASSIGNED, E.START).effects == (Effect.RESPONDED,)
    assert Effect.SET_ASSIGNEE in transition(S.NEW, E.ASSIGN).effects
    assert transition(S.CLOSED, E.REOPEN).effects == (Effect.REOPENED,)


def test_an_unknown_event_has_a_stable_id() -> None:
    with pytest.raises(UnknownEvent) as raised:
        parse_event("explode")
    assert raised.value.error_id == "workorder.unknown_event"
