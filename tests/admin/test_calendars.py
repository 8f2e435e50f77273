"""Supervisors keep the business-hours calendars in the admin; department staff do not see them.

A new calendar with a lunch break is saved from the form as a supervisor would type it; bad hours come back with
a message beside them; the change page shows the next two weeks as the deadlines count them (a holiday, a
make-up workday, the calendar's own day off); a department gets the calendar on its page and its next ticket
counts business hours at once.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from routing.models import BusinessCalendar, DeadlinePolicy, Department
from tests.admin.conftest import logged_in
from tests.factories.calendars import office_calendar
from tests.factories.desk import open_complaint

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
ADD = reverse("admin:routing_businesscalendar_add")
LIST = reverse("admin:routing_businesscalendar_changelist")


def form_data(*, hours: list[tuple[int, str, str]], days: list[tuple[str, bool]] = (), **fields: str) -> dict:
    data = {
        "name": "客服部 工作时间",
        "time_zone": "Asia/Shanghai",
        "china_holidays": "on",
        "makeup_weekday": "0",
        "hours-TOTAL_FORMS": str(len(hours)),
        "hours-INITIAL_FORMS": "0",
        "days-TOTAL_FORMS": str(len(days)),
        "days-INITIAL_FORMS": "0",
        **fields,
    }
    for n, (weekday, start, end) in enumerate(hours):
        data |= {f"hours-{n}-weekday": str(weekday), f"hours-{n}-start": start, f"hours-{n}-end": end}
    for n, (day, is_open) in enumerate(days):
        data |= {f"days-{n}-date": day, f"days-{n}-note": "年会"}
        if is_open:
            data[f"days-{n}-open"] = "on"
    return data


def office_week() -> list[tuple[int, str, str]]:
    return [(day, start, end) for day in range(5) for start, end in (("09:00", "12:00"), ("13:30", "18:00"))]


def test_a_supervisor_creates_a_calendar_with_a_lunch_break_and_a_day_off(sup_client) -> None:
    response = sup_client.post(ADD, form_data(hours=office_week(), days=[("2026-12-18", False)]))
    assert response.status_code == 302, response.context and response.context["errors"]
    calendar = BusinessCalendar.objects.get()
    assert calendar.hours.count() == 10
    assert list(calendar.days.values_list("date", "open")) == [(datetime(2026, 12, 18).date(), False)]


@pytest.mark.parametrize(
    ("hours", "fields", "message"),
    [
        ([(0, "09:00", "12:00"), (0, "11:00", "18:00")], {}, "The hours of Monday overlap (11:00)"),
        ([(0, "18:00", "09:00")], {}, "The hours must end after they start"),
        ([(1, "09:00", "18:00")], {}, "Make-up workdays work like Monday, which has no hours here"),
        (office_week(), {"time_zone": "Asia/Beijing"}, "'Asia/Beijing' is not a time zone"),
    ],
)
def test_bad_hours_come_back_with_a_message(sup_client, hours, fields, message) -> None:
    response = sup_client.post(ADD, form_data(hours=hours, **fields))
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not BusinessCalendar.objects.exists()


def test_the_change_page_shows_the_next_two_weeks_as_deadlines_count_them(sup_client) -> None:
    calendar = office_calendar("operations", days_off=(datetime(2026, 9, 29).date(),))
    with time_machine.travel(datetime(2026, 9, 28, 10, tzinfo=SHANGHAI), tick=False):
        page = sup_client.get(reverse("admin:routing_businesscalendar_change", args=[calendar.pk])).content.decode()
    assert 'id="calendar-preview"' in page
    assert 'class="calendar-day calendar-open" data-date="2026-09-28"' in page  # Monday: 09:00–12:00, 13:30–18:00
    assert "09:00–12:00, 13:30–18:00" in page
    assert 'class="calendar-day calendar-closed" data-date="2026-09-29"' in page  # the calendar's own day off
    assert "day off (this calendar)" in page
    assert 'class="calendar-day calendar-closed" data-date="2026-10-01"' in page
    assert "public holiday (China)" in page
    assert 'class="calendar-day calendar-open" data-date="2026-10-10"' in page  # Saturday, 调休
    assert "make-up workday (China, 调休)" in page


def test_the_list_reads_every_calendar_in_a_few_queries(sup_client, django_assert_max_num_queries) -> None:
    for n in range(3):
        office_calendar(name=f"日历 {n}")
    office_calendar("operations", "warehouse", name="办公时间")
    with django_assert_max_num_queries(9):
        page = sup_client.get(LIST).content.decode()
    assert "Monday–Friday 09:00–12:00, 13:30–18:00" in page
    for n in range(6):
        office_calendar(name=f"更多日历 {n}")
    with django_assert_max_num_queries(9):
        sup_client.get(LIST)


def test_in_chinese(supervisor) -> None:
    office_calendar("operations")
    client = logged_in(supervisor)
    page = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "工作时间日历" in page and "周一–周五 09:00–12:00, 13:30–18:00" in page


def test_department_staff_do_not_see_calendars(ops_client) -> None:
    assert ops_client.get(LIST).status_code == 403


def test_a_calendar_given_to_a_department_on_its_page_counts_at_once(sup_client) -> None:
    calendar = office_calendar(name="办公时间")
    DeadlinePolicy.objects.create(name="4 小时", kind="complaint", state="open", duration=timedelta(hours=4))
    operations = Department.objects.get(code="operations")
    response = sup_client.post(
        reverse("admin:routing_department_change", args=[operations.pk]),
        {
            "name": operations.name,
            "strategy": operations.strategy,
            "overflow_threshold": "",
            "backup": "",
            "calendar": str(calendar.pk),
            "routing-staffmember_departments-content_type-object_id-TOTAL_FORMS": "0",
            **_membership_management(sup_client, operations.pk),
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    with time_machine.travel(datetime(2026, 12, 4, 17, tzinfo=SHANGHAI), tick=False):
        ticket = open_complaint()
    assert ticket.step_due_at == datetime(2026, 12, 7, 12, tzinfo=SHANGHAI)


def _membership_management(client, pk: int) -> dict[str, str]:
    """The department page's inline management form, as the page renders it."""
    response = client.get(reverse("admin:routing_department_change", args=[pk]))
    formset = response.context["inline_admin_formsets"][0].formset
    return {
        f"{formset.prefix}-TOTAL_FORMS": "0",
        f"{formset.prefix}-INITIAL_FORMS": "0",
    }
