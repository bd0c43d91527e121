"""Deadlines on China's working calendar and the sweep that warns, flags and escalates,
with the clock frozen."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from tests.cases.helpers import file_case, grid_of
from wangge.cases import services
from wangge.cases.models import CaseEvent, Rating, State
from wangge.cases.services import Target
from wangge.core import workcal
from wangge.core.clock import LOCAL_TZ
from wangge.core.models import Notification, WorkdayOverride
from wangge.org.models import Department
from wangge.places.models import PlaceKind

pytestmark = pytest.mark.django_db


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def test_the_calendar_knows_holidays_and_make_up_days() -> None:
    assert not workcal.is_workday(date(2026, 10, 1))  # National Day
    assert not workcal.is_workday(date(2026, 10, 7))
    assert workcal.is_workday(date(2026, 9, 20))  # a Sunday worked to make up
    assert workcal.is_workday(date(2026, 10, 10))  # a Saturday worked to make up
    assert not workcal.is_workday(date(2026, 11, 21))  # an ordinary Saturday
    assert workcal.holiday_name(date(2026, 10, 2))


def test_a_local_correction_wins_and_unknown_years_fall_back_to_weekdays() -> None:
    assert workcal.is_workday(date(2030, 1, 7))
    assert not workcal.is_workday(date(2030, 1, 5))
    WorkdayOverride.objects.create(day=date(2026, 11, 23), is_workday=False, note="本地假日")
    workcal.forget_overrides()
    try:
        assert not workcal.is_workday(date(2026, 11, 23))
    finally:
        workcal.forget_overrides()


def test_working_hours_skip_nights_weekends_and_holidays() -> None:
    start = local(2026, 9, 30, 16, 0)
    assert workcal.add_working_hours(start, 4) == local(2026, 10, 8, 11, 0)
    assert workcal.working_seconds_between(start, local(2026, 10, 8, 11, 0)) == 4 * 3600
    assert workcal.add_working_days(local(2026, 11, 20, 20, 0), 1) == local(2026, 11, 23, 17, 30)


def test_a_request_filed_before_national_day_is_due_after_the_holiday(users: dict[str, Any]) -> None:
    with time_machine.travel(local(2026, 9, 30, 16, 0), tick=False):
        case = file_case(actor=users["resident"], code="1999")  # general: 7 working days
    # Oct 1–7 are holidays; Oct 8, 9, 10 (a make-up Saturday), 12, 13, 14, 15 are worked.
    assert case.due_at == local(2026, 10, 15, 17, 30)
    assert case.respond_due_at == local(2026, 10, 8, 11, 0)  # 4 working hours
    assert local(2026, 10, 8) < case.warn_at < case.due_at
    assert case.warn_at.astimezone(LOCAL_TZ).date() == date(2026, 10, 14)  # 80 % of 7 working days


def test_an_emergency_counts_wall_clock_hours(users: dict[str, Any]) -> None:
    with time_machine.travel(local(2026, 10, 1, 22, 0), tick=False):
        case = file_case(actor=users["resident"], code="0501", priority="emergency")
    assert case.due_at == local(2026, 10, 2, 0, 0)
    assert case.respond_due_at == local(2026, 10, 1, 22, 30)


def test_the_sweep_escalates_an_overdue_grid_case_to_the_community_then_the_street(
    users: dict[str, Any],
) -> None:
    with time_machine.travel(local(2026, 11, 16, 10, 0), tick=False):
        case = file_case(actor=users["grid1"], code="1601", channel="patrol")
    assert case.owner_place_id == grid_of("grid1").pk
    assert case.due_at == local(2026, 11, 25, 17, 30)

    with time_machine.travel(local(2026, 11, 24, 16, 0), tick=False):
        result = services.sla_sweep()
    case.refresh_from_db()
    assert result.warned >= 1
    assert case.warned
    assert not case.overdue

    with time_machine.travel(local(2026, 11, 26, 9, 0), tick=False):
        result = services.sla_sweep()
        case.refresh_from_db()
        version = case.version
        again = services.sla_sweep()
    case.refresh_from_db()
    assert result.overdue >= 1
    assert result.escalated >= 1
    assert again.looked_at == 0
    assert case.version == version
    assert case.overdue
    assert case.owner_place is not None
    assert case.owner_place.kind == PlaceKind.COMMUNITY
    assert case.state == State.RECEIVED
    assert case.due_at == local(2026, 11, 27, 17, 30)
    assert Notification.objects.filter(user=users["community"], kind="case.escalated").exists()

    with time_machine.travel(local(2026, 11, 30, 9, 0), tick=False):
        result = services.sla_sweep()
    case.refresh_from_db()
    assert result.escalated >= 1
    assert case.owner_place is not None
    assert case.owner_place.kind == PlaceKind.STREET
    assert case.escalation_level == 2

    # The street is the top of the ladder: overdue again, nothing more to escalate to.
    with time_machine.travel(local(2026, 12, 10, 9, 0), tick=False):
        services.sla_sweep()
    case.refresh_from_db()
    assert case.escalation_level == 2
    assert case.owner_place.kind == PlaceKind.STREET
    assert case.next_sweep_at is None or case.next_sweep_at > local(2026, 12, 10, 9, 0)
    actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions.count("escalate") == 2
    assert actions.count("overdue") == 1
    assert actions.count("sla_warning") == 1


def test_a_whistle_nobody_answers_in_30_minutes_is_flagged(users: dict[str, Any]) -> None:
    dept = Department.objects.get(assignments__user=users["dept"])
    with time_machine.travel(local(2026, 11, 23, 9, 0), tick=False):
        case = file_case(actor=users["resident"])
        services.case_whistle(actor=users["community"], case=case, department=dept, note="积水严重，请到场")
    with time_machine.travel(local(2026, 11, 23, 9, 29), tick=False):
        assert services.sla_sweep().whistles_missed == 0
    with time_machine.travel(local(2026, 11, 23, 9, 31), tick=False):
        assert services.sla_sweep().whistles_missed == 1
        assert services.sla_sweep().whistles_missed == 0
    case.refresh_from_db()
    assert case.whistle_missed
    assert case.whistle_reported_at is None
    assert CaseEvent.objects.filter(case=case, action="whistle_missed").count() == 1
    assert Notification.objects.filter(user=users["community"], kind="case.whistle_missed").count() == 1


def test_a_department_that_reports_in_on_time_is_not_flagged(users: dict[str, Any]) -> None:
    dept = Department.objects.get(assignments__user=users["dept"])
    with time_machine.travel(local(2026, 11, 23, 9, 0), tick=False):
        case = file_case(actor=users["resident"])
        services.case_whistle(actor=users["community"], case=case, department=dept, note="请到场")
    with time_machine.travel(local(2026, 11, 23, 9, 20), tick=False):
        services.case_accept(actor=users["dept"], case=case)
    with time_machine.travel(local(2026, 11, 23, 10, 0), tick=False):
        services.sla_sweep()
    case.refresh_from_db()
    assert not case.whistle_missed
    assert case.whistle_reported_at == local(2026, 11, 23, 9, 20)


def test_resolved_cases_are_archived_when_nobody_rates_them(users: dict[str, Any]) -> None:
    with time_machine.travel(local(2026, 11, 23, 9, 0), tick=False):
        case = file_case(actor=users["resident"])
        services.case_dispatch(actor=users["community"], case=case, to=Target(user=users["grid1"]))
        services.case_accept(actor=users["grid1"], case=case)
        services.case_resolve(actor=users["grid1"], case=case, reply="已处理")
    with time_machine.travel(local(2026, 11, 23, 9, 0) + timedelta(days=8), tick=False):
        assert services.sla_sweep().archived >= 1
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.rating == ""


def test_a_rated_case_is_archived_after_the_grace_days(users: dict[str, Any]) -> None:
    with time_machine.travel(local(2026, 11, 23, 9, 0), tick=False):
        case = file_case(actor=users["resident"])
        services.case_dispatch(actor=users["community"], case=case, to=Target(user=users["grid1"]))
        services.case_accept(actor=users["grid1"], case=case)
        services.case_resolve(actor=users["grid1"], case=case, reply="已处理")
        services.case_rate(actor=users["resident"], case=case, rating=Rating.SATISFIED)
    with time_machine.travel(local(2026, 11, 27, 9, 0), tick=False):
        services.sla_sweep()
    case.refresh_from_db()
    assert case.state == State.CLOSED


def test_a_late_acceptance_counts_against_the_response_rate(users: dict[str, Any]) -> None:
    with time_machine.travel(local(2026, 11, 23, 9, 0), tick=False):
        case = file_case(actor=users["resident"])
        services.case_dispatch(actor=users["community"], case=case, to=Target(user=users["grid1"]))
    with time_machine.travel(local(2026, 11, 23, 14, 0), tick=False):  # 4 working hours passed at 13:00
        assert services.sla_sweep().late_responses >= 1
        services.case_accept(actor=users["grid1"], case=case)
    case.refresh_from_db()
    assert case.responded_on_time is False
