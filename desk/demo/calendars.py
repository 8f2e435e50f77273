"""The demo's business-hours calendars: customer service late into the evening six days a week, the warehouse
on Saturdays too, the back office on weekdays; all closed on China's public holidays and open on their make-up
workdays. Given to the departments before the tickets are made, so their internal deadlines count these hours.

Configuration, not demo data: created once (by name) and kept by ``seed_demo --reset``; a department a
supervisor already gave a calendar keeps it.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from django.utils import timezone

from kefu.core.china_holidays import covers
from routing.models import BusinessCalendar, CalendarDay, Department, WorkingHours

Ranges = tuple[tuple[time, time], ...]
MON_SAT = range(6)
MON_FRI = range(5)
# name → (departments, weekdays, ranges): the lunch break between the ranges.
CALENDARS: dict[str, tuple[tuple[str, ...], range, Ranges]] = {
    "售后客服 早九晚九": (("operations",), MON_SAT, ((time(9), time(12)), (time(13), time(21)))),
    "仓库 周一至周六": (("warehouse",), MON_SAT, ((time(8, 30), time(12)), (time(13), time(17, 30)))),
    "办公室 朝九晚六": (("logistics", "supervisors"), MON_FRI, ((time(9), time(12)), (time(13, 30), time(18)))),
}
OFFICE = "办公室 朝九晚六"


def calendars_ensure(*, today: date | None = None) -> list[BusinessCalendar]:
    """Create the demo's calendars that are missing and give them to departments without one."""
    today = today or timezone.localdate()
    made = []
    for name, (codes, weekdays, ranges) in CALENDARS.items():
        calendar, created = BusinessCalendar.objects.get_or_create(name=name)
        if created:
            for weekday in weekdays:
                for start, end in ranges:
                    WorkingHours.objects.create(calendar=calendar, weekday=weekday, start=start, end=end)
            if name == OFFICE:
                _own_days(calendar, today)
        for department in Department.objects.filter(code__in=codes, calendar__isnull=True):
            department.calendar = calendar
            department.save(update_fields=["calendar"])
        made.append(calendar)
    return made


def _own_days(calendar: BusinessCalendar, today: date) -> None:
    """A merchant's own days: the annual meeting (a day off, a weekday about ten days ahead), and New Year's Day
    while chinesecalendar does not know next year yet (a merchant adds it by hand, as routing.W001 suggests)."""
    meeting = today + timedelta(days=10)
    while meeting.weekday() >= 5:
        meeting += timedelta(days=1)
    CalendarDay.objects.create(calendar=calendar, date=meeting, open=False, note="公司年会")
    new_year = date(today.year + 1, 1, 1)
    if not covers(new_year.year):
        CalendarDay.objects.create(calendar=calendar, date=new_year, open=False, note="元旦（节假日库尚无明年数据）")
