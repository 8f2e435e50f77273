"""A department's calendar as routing gives it: read from the snapshot, reloaded when a supervisor changes the
hours or a day, absent for a department without one; the models' own checks; routing.W001 when China's holiday
data runs out."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.checks import run_checks
from django.core.exceptions import ValidationError

from kefu.core import china_holidays
from routing.calendars import business_add, business_between, business_deadline, department_schedule
from routing.models import BusinessCalendar, CalendarDay, WorkingHours
from tests.factories.calendars import office_calendar

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_17 = datetime(2026, 12, 4, 17, tzinfo=SHANGHAI)
H = timedelta(hours=1)


def test_without_a_calendar_a_department_counts_calendar_time() -> None:
    assert department_schedule("operations") is None
    assert department_schedule(None) is None and department_schedule("nope") is None
    assert business_add("operations", FRIDAY_17, 4 * H) == FRIDAY_17 + 4 * H
    assert business_deadline("operations", FRIDAY_17, 48 * H) == FRIDAY_17 + 48 * H
    assert business_between("operations", FRIDAY_17, FRIDAY_17 + 5 * H) == 5 * H


def test_a_change_of_hours_or_days_counts_at_once(django_assert_num_queries) -> None:
    calendar = office_calendar("operations")
    assert business_add("operations", FRIDAY_17, 4 * H) == datetime(2026, 12, 7, 12, tzinfo=SHANGHAI)
    with django_assert_num_queries(0):  # from the snapshot
        business_add("operations", FRIDAY_17, 4 * H)

    WorkingHours.objects.create(calendar=calendar, weekday=5, start=time(10), end=time(16))  # Saturdays now
    assert business_add("operations", FRIDAY_17, 4 * H) == datetime(2026, 12, 5, 13, tzinfo=SHANGHAI)

    CalendarDay.objects.create(calendar=calendar, date=date(2026, 12, 5), open=False, note="团建")
    assert business_add("operations", FRIDAY_17, 4 * H) == datetime(2026, 12, 7, 12, tzinfo=SHANGHAI)

    calendar.delete()  # the department goes back to 24×7
    assert business_add("operations", FRIDAY_17, 4 * H) == FRIDAY_17 + 4 * H


def test_a_calendar_that_never_opens_falls_back_to_calendar_time(caplog: pytest.LogCaptureFixture) -> None:
    BusinessCalendar.objects.filter(pk=office_calendar("operations").pk).first().hours.all().delete()
    assert business_deadline("operations", FRIDAY_17, 4 * H) == FRIDAY_17 + 4 * H
    assert business_add("operations", FRIDAY_17, 48 * H) == FRIDAY_17 + 48 * H
    assert "never opens" in caplog.text


def test_midnight_ends_a_day_and_touching_ranges_are_one() -> None:
    calendar = office_calendar("operations", hours=((time(18), time(0)),), weekdays=range(7))
    WorkingHours.objects.create(calendar=calendar, weekday=0, start=time(9), end=time(18))
    schedule = department_schedule("operations")
    assert schedule is not None
    assert schedule.week[0] == ((time(9), time.max),)
    assert schedule.week[1] == ((time(18), time.max),)


def test_the_models_refuse_what_would_never_count() -> None:
    with pytest.raises(ValidationError, match="must end after they start"):
        WorkingHours(calendar=BusinessCalendar(name="x"), weekday=0, start=time(18), end=time(9)).clean()
    WorkingHours(calendar=BusinessCalendar(name="x"), weekday=0, start=time(18), end=time(0)).clean()  # to midnight
    with pytest.raises(ValidationError, match="not a time zone"):
        BusinessCalendar(name="x", time_zone="Mars/Olympus").full_clean()
    BusinessCalendar(name="x", time_zone="Europe/Berlin").full_clean()


def warnings_now() -> list[str]:
    return [m.id for m in run_checks(databases=["default"]) if m.id.startswith("routing.")]


def test_w001_warns_a_month_before_chinas_holidays_run_out() -> None:
    last = china_holidays.LAST_YEAR
    office_calendar("operations")
    with time_machine.travel(datetime(last, 11, 30, tzinfo=SHANGHAI)):
        assert warnings_now() == []
    with time_machine.travel(datetime(last, 12, 7, tzinfo=SHANGHAI)):
        assert warnings_now() == ["routing.W001"]
        assert [m.id for m in run_checks() if m.id.startswith("routing.")] == []  # a database check only


def test_w001_is_quiet_when_no_department_uses_chinas_holidays() -> None:
    office_calendar(china_holidays=False)
    office_calendar("operations", name="own", china_holidays=False)
    with time_machine.travel(datetime(china_holidays.LAST_YEAR, 12, 7, tzinfo=SHANGHAI)):
        assert warnings_now() == []
