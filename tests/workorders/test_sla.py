import datetime as dt

import pytest

from central.workorders.calendar import ALWAYS_OPEN, BusinessCalendar, add_business_seconds, office_hours
from central.workorders.errors import UnknownPriority, UnknownType
from central.workorders.lifecycle import Status
from central.workorders.sla import (
    Deadline,
    OrderType,
    Priority,
    SlaPolicy,
    SlaView,
    deadlines,
    default_policies,
    due_escalations,
    parse_priority,
    parse_type,
)

H = 3600.0


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> float:
    return dt.datetime(y, mo, d, h, mi, tzinfo=dt.UTC).timestamp()


CAL = office_hours(9, 17, holidays=frozenset({dt.date(2026, 12, 25)}))  # Mon-Fri 9-17


def test_within_the_same_day() -> None:
    assert add_business_seconds(CAL, at(2026, 12, 3, 10), 2 * H) == at(2026, 12, 3, 12)


def test_friday_evening_rolls_to_monday() -> None:  # 2026-12-04 is a Friday
    assert add_business_seconds(CAL, at(2026, 12, 4, 16), 2 * H) == at(2026, 12, 7, 10)


def test_before_opening_and_weekend_start() -> None:
    assert add_business_seconds(CAL, at(2026, 12, 3, 6), 30 * 60) == at(2026, 12, 3, 9, 30)
    assert add_business_seconds(CAL, at(2026, 12, 5, 12), 60) == at(2026, 12, 7, 9, 1)


def test_holidays_are_skipped() -> None:  # Thu 24th 16:00 + 2 h -> Fri 25th is a holiday -> Mon 28th 10:00
    assert add_business_seconds(CAL, at(2026, 12, 24, 16), 2 * H) == at(2026, 12, 28, 10)


def test_exactly_at_closing_and_multi_day() -> None:
    assert add_business_seconds(CAL, at(2026, 12, 3, 9), 8 * H) == at(2026, 12, 3, 17)
    assert add_business_seconds(CAL, at(2026, 12, 3, 9), 24 * H) == at(2026, 12, 7, 17)


def test_utc_offset_is_local_time() -> None:
    shanghai = office_hours(9, 17, utc_offset_s=8 * 3600)
    # 01:00 UTC is 09:00 in Shanghai
    assert add_business_seconds(shanghai, at(2026, 12, 3, 1), H) == at(2026, 12, 3, 2)


def test_always_open_and_bad_calendars() -> None:
    assert add_business_seconds(ALWAYS_OPEN, at(2026, 12, 5, 23), 2 * H) == at(2026, 12, 6, 1)
    with pytest.raises(ValueError):
        add_business_seconds(BusinessCalendar({}), at(2026, 12, 3), 60)
    with pytest.raises(ValueError):
        BusinessCalendar({7: ((0, 10),)})


def test_deadlines_by_policy() -> None:
    table = default_policies()
    assert len(table) == len(OrderType) * len(Priority)
    created = at(2026, 12, 4, 16)  # Friday 16:00
    repair = deadlines(table[(OrderType.REPAIR, Priority.NORMAL)], CAL, created)
    assert repair.response_due == at(2026, 12, 7, 10)  # 2 business hours
    leak = deadlines(table[(OrderType.EMERGENCY, Priority.URGENT)], CAL, created)
    assert leak.response_due == created + 15 * 60 * 0.25  # around the clock
    assert table[(OrderType.EMERGENCY, Priority.HIGH)].escalate_to == "queue:emergency"
    assert deadlines(SlaPolicy(H, 2 * H, business_hours=False), CAL, created).resolution_due == created + 2 * H


def test_unknown_type_and_priority() -> None:
    with pytest.raises(UnknownType) as t:
        parse_type("praise")
    with pytest.raises(UnknownPriority) as p:
        parse_priority("meh")
    assert (t.value.error_id, p.value.error_id) == ("workorder.unknown_type", "workorder.unknown_priority")


def view(status: Status = Status.ASSIGNED, responded: float | None = None, **kw: float | None) -> SlaView:
    return SlaView("WO-1", status, 1000.0, 5000.0, responded, kw.get("esc_resp"), kw.get("esc_res"), "role:x")


def test_escalation_decisions() -> None:
    assert due_escalations([view()], 0.0, 100.0) == []
    (first,) = due_escalations([view()], 900.0, 100.0)
    assert (first.deadline, first.breached, first.target) == (Deadline.RESPONSE, False, "role:x")
    assert due_escalations([view()], 1000.0, 100.0)[0].breached
    assert due_escalations([view(esc_resp=900.0)], 1000.0, 100.0) == []  # once per deadline
    assert due_escalations([view(responded=950.0)], 1000.0, 100.0) == []  # met
    both = due_escalations([view()], 4950.0, 100.0)
    assert [e.deadline for e in both] == [Deadline.RESPONSE, Deadline.RESOLUTION]
    assert due_escalations([view(Status.RESOLVED)], 9999.0, 100.0) == []  # not open
    assert [e.deadline for e in due_escalations([view(Status.REOPENED, 1.0, esc_resp=None)], 9999.0, 0)] == [
        Deadline.RESOLUTION
    ]
