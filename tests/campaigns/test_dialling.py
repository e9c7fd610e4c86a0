"""Calling hours in the contact's zone, the dialler's decisions, and contact lists from CSV."""

from __future__ import annotations

import datetime as dt

import pytest

from central.campaigns.dialler import Candidate, DialPlan, Floor, Mode, decide
from central.campaigns.errors import BadList, BadPolicy
from central.campaigns.hours import ALWAYS, CallingHours
from central.campaigns.lists import ListReport, parse_list

MONDAY_0830_UTC = dt.datetime(2026, 12, 7, 8, 30, tzinfo=dt.UTC).timestamp()
HOURS = CallingHours.parse({"mon": "09:00-20:00", "tue": "09:00-20:00", "wed": "09:00-20:00",
                            "holidays": ["2026-12-08"]})  # fmt: skip


def test_calling_hours_count_the_called_persons_clock() -> None:
    assert HOURS.allowed(MONDAY_0830_UTC, "Europe/Berlin")  # 09:30 there
    assert not HOURS.allowed(MONDAY_0830_UTC, "Europe/London")  # 08:30 there
    assert not HOURS.allowed(MONDAY_0830_UTC, "America/New_York")  # 03:30 there
    assert HOURS.next_allowed(MONDAY_0830_UTC, "Europe/London") == MONDAY_0830_UTC + 30 * 60


def test_the_next_window_skips_holidays_and_closed_days() -> None:
    monday_late = dt.datetime(2026, 12, 7, 19, 30, tzinfo=dt.UTC).timestamp()  # 20:30 in Berlin
    opens = HOURS.next_allowed(monday_late, "Europe/Berlin")
    assert opens == dt.datetime(2026, 12, 9, 8, 0, tzinfo=dt.UTC).timestamp()  # Wed 09:00 Berlin (Tue: holiday)
    assert CallingHours.parse({}).next_allowed(monday_late, "Europe/Berlin") is None


@pytest.mark.parametrize(("hours", "field"), [
    ({"mon": "9-17"}, "hours.mon"), ({"mon": "18:00-09:00"}, "hours.mon"), ({"mon": "09:00-25:00"}, "hours.mon"),
    ({"monday": "09:00-17:00"}, "hours"), ({"holidays": ["soon"]}, "hours.holidays"),
])  # fmt: skip
def test_bad_calling_hours_are_refused_naming_the_field(hours: dict[str, object], field: str) -> None:
    with pytest.raises(BadPolicy) as refused:
        CallingHours.parse(hours)
    assert refused.value.details["field"] == field


def _candidates(n: int, tz: str = "Europe/Berlin") -> list[Candidate]:
    return [Candidate(i, tz) for i in range(n)]


def test_preview_offers_one_contact_to_each_free_agent() -> None:
    out = decide(DialPlan(), ALWAYS, _candidates(10), Floor(["a1", "a2"]), MONDAY_0830_UTC)
    assert [(d.kind, d.contact_id, d.agent) for d in out.actions] == [("offer", 0, "a1"), ("offer", 1, "a2")]


def test_progressive_at_ratio_one_reserves_an_agent_for_every_call() -> None:
    plan = DialPlan(Mode.PROGRESSIVE, 1.0)
    out = decide(plan, ALWAYS, _candidates(10), Floor(["a1", "a2", "a3"], ringing=1, ringing_reserved=1),
                 MONDAY_0830_UTC)  # fmt: skip
    assert [(d.kind, d.agent) for d in out.actions] == [("dial", "a1"), ("dial", "a2"), ("dial", "a3")]
    over = decide(DialPlan(Mode.PROGRESSIVE, 2.0), ALWAYS, _candidates(10), Floor(["a1"]), MONDAY_0830_UTC)
    assert [d.agent for d in over.actions] == ["a1", None]


def test_contacts_outside_hours_are_deferred_and_refused_ones_blocked_never_dialled() -> None:
    candidates = [Candidate(1, "America/New_York"), Candidate(2, "Europe/Berlin"), Candidate(3, "Europe/Berlin"),
                  Candidate(4, "Europe/Berlin", next_at=MONDAY_0830_UTC + 60)]  # fmt: skip
    out = decide(DialPlan(), HOURS, candidates, Floor(["a1", "a2"]), MONDAY_0830_UTC,
                 gate=lambda c: "do_not_call" if c.id == 2 else None)  # fmt: skip
    assert [d.contact_id for d in out.actions] == [3]
    assert [(d.contact_id, d.reason) for d in out.blocked] == [(2, "do_not_call")]
    assert out.deferred[0].contact_id == 1
    assert out.deferred[0].until == dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC).timestamp()  # 09:00 in New York


def test_blended_agents_stay_inbound_while_its_service_level_is_low() -> None:
    plan = DialPlan(Mode.PROGRESSIVE, 1.0, blend_below=0.8)
    assert decide(plan, ALWAYS, _candidates(3), Floor(["a1"], inbound_service_level=0.7), 0).held_for_inbound
    assert len(decide(plan, ALWAYS, _candidates(3), Floor(["a1"], inbound_service_level=0.9), 0).actions) == 1


@pytest.mark.parametrize(("plan", "field"), [
    ({"mode": Mode.PROGRESSIVE, "ratio": 0.5}, "ratio"), ({"mode": Mode.PREVIEW, "ratio": 2.0}, "ratio"),
    ({"blend_below": 1.5}, "blend_below"),
])  # fmt: skip
def test_bad_dial_plans_are_refused(plan: dict[str, object], field: str) -> None:
    with pytest.raises(BadPolicy) as refused:
        DialPlan(**plan)  # type: ignore[arg-type]
    assert refused.value.details["field"] == field


LIST = """phone,customer_number,name,tz,priority,amount_due
+49 151 1000001,C1001,Anna Schmidt,,2,120.50
not-a-phone,C1002,Bad Phone,,0,1
+49151 1000003,C1003,Wrong Zone,Mars/Base,0,1
+49151 1000004,C1004,Bad Priority,,12,1
+49 151 1000001,C1001,Duplicate,,0,1
+861380000005,,王芳,Asia/Shanghai,,300
+49151 1000006,C1006,Short row
"""


def test_a_list_keeps_the_good_rows_and_reports_each_bad_one() -> None:
    report = ListReport()
    entries = list(parse_list(LIST.splitlines(), "Europe/Berlin", report))
    assert [(e.row, e.phone, e.tz, e.priority) for e in entries] == [
        (2, "+491511000001", "Europe/Berlin", 2), (7, "+861380000005", "Asia/Shanghai", 0)]  # fmt: skip
    assert entries[0].data == {"amount_due": "120.50"} and entries[1].name == "王芳"
    assert (report.rows, report.valid, report.invalid, report.duplicates) == (7, 2, 4, 1)
    assert [(e["row"], e["column"], e["error_id"]) for e in report.errors] == [
        (3, "phone", "crm.invalid_phone"), (4, "tz", "campaign.unknown_time_zone"),
        (5, "priority", "campaign.bad_priority"), (8, "", "campaign.malformed_row")]  # fmt: skip


@pytest.mark.parametrize(("header", "error_id"), [
    ("name,tz", "campaign.missing_column"), ("phone,name,pin", "campaign.sensitive_column"),
    ("phone,Full Name", "campaign.bad_list"), ("phone,phone", "campaign.bad_list"),
])  # fmt: skip
def test_a_list_with_a_bad_header_is_refused_as_a_whole(header: str, error_id: str) -> None:
    with pytest.raises(BadList) as refused:
        list(parse_list([header, "+491511000001,x"], "Europe/Berlin", ListReport()))
    assert refused.value.error_id == error_id
