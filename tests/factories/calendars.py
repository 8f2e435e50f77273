"""Business-hours calendars for the tests (routing.models.BusinessCalendar): an office week and its departments."""

from __future__ import annotations

from datetime import time

from routing.config import calendar_schedules
from routing.models import BusinessCalendar, CalendarDay, Department, WorkingHours

# Weekdays 09:00–12:00 and 13:30–18:00, as most of the demo's departments work.
OFFICE_HOURS = ((time(9), time(12)), (time(13, 30), time(18)))


def office_calendar(
    *departments: str,
    name: str = "办公时间",
    china_holidays: bool = True,
    weekdays: range = range(5),
    hours: tuple[tuple[time, time], ...] = OFFICE_HOURS,
    days_off: tuple = (),
    extra_workdays: tuple = (),
) -> BusinessCalendar:
    """A calendar open ``hours`` on ``weekdays`` (Monday = 0), given to ``departments`` (codes)."""
    calendar = BusinessCalendar.objects.create(name=name, china_holidays=china_holidays)
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=calendar, weekday=day, start=start, end=end) for day in weekdays for start, end in hours
    )
    CalendarDay.objects.bulk_create(
        [CalendarDay(calendar=calendar, date=d, open=False) for d in days_off]
        + [CalendarDay(calendar=calendar, date=d, open=True) for d in extra_workdays]
    )
    calendar_schedules.invalidate()  # bulk_create sends no post_save
    for code in departments:
        department = Department.objects.get(code=code)
        department.calendar = calendar
        department.save(update_fields=["calendar"])  # post_save: routing's snapshot sees it at once
    return calendar
