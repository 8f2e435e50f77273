"""The demo's departments work realistic hours (desk.demo.calendars), and ``seed_demo`` gives them before the
tickets are made: an internal deadline of the demo counts its department's business hours."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from desk.demo.calendars import calendars_ensure
from kefu.core import business_hours
from routing.calendars import department_schedule
from routing.models import BusinessCalendar, Department
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_every_department_of_the_demo_gets_a_calendar_once() -> None:
    calendars_ensure(today=date(2026, 12, 7))
    calendars_ensure(today=date(2026, 12, 7))
    assert BusinessCalendar.objects.count() == 3
    assert not Department.objects.filter(
        code__in=["operations", "warehouse", "logistics", "supervisors"], calendar=None
    )
    office = BusinessCalendar.objects.get(name="办公室 朝九晚六")
    # The annual meeting on a weekday ten days on; New Year's Day 2027 by hand (chinesecalendar stops at 2026).
    assert sorted((d.date, d.note) for d in office.days.all()) == [
        (date(2026, 12, 17), "公司年会"),
        (date(2027, 1, 1), "元旦（节假日库尚无明年数据）"),
    ]
    schedule = department_schedule("supervisors")
    assert schedule is not None and not schedule.ranges_on(date(2027, 1, 1))


def test_a_supervisors_own_choice_is_kept() -> None:
    mine = BusinessCalendar.objects.create(name="mine")
    Department.objects.filter(code="operations").update(calendar=mine)
    calendars_ensure()
    assert Department.objects.get(code="operations").calendar == mine


def test_seeded_tickets_count_business_hours(settings) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    complaint = Ticket.objects.filter(kind="complaint", state="open").first()
    assert complaint is not None and complaint.department == "operations"
    # 2 business hours of customer service (09:00–12:00, 13:00–21:00, Monday to Saturday, China's holidays).
    schedule = department_schedule("operations")
    assert schedule is not None
    assert complaint.step_due_at == business_hours.deadline(schedule, complaint.step_started_at, timedelta(hours=2))
    assert business_hours.is_open(schedule, complaint.step_due_at - timedelta(seconds=1))
