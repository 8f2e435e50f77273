"""A supervisor keeps the business hours in a real browser (zh-hans, 1366×768): the calendars' list with their
weekly hours, a calendar's page with its two ranges a day, China's 国庆 and the make-up Saturday in the two-week
preview, and a day off of their own added on the page (the preview shows it at once).
docs/screenshots/desk-calendar.png is the calendar's page (docs/desk.md, "Business hours").
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group

from desk.demo.calendars import calendars_ensure
from routing.models import BusinessCalendar
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-browser-12345"
# The Monday before 国庆 2026: the preview holds the holiday (1–7 October) and the make-up Saturday (10 October).
MONDAY = datetime(2026, 9, 28, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_supervisor_reads_and_changes_a_departments_business_hours(page, live_server, django_user_model) -> None:
    with time_machine.travel(MONDAY, tick=True):
        calendars_ensure(today=MONDAY.date())  # the annual meeting on Thursday 8 October
        office = BusinessCalendar.objects.get(name="办公室 朝九晚六")
        user = django_user_model.objects.create_user("sup", password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name="supervisors"))
        page.set_viewport_size({"width": 1366, "height": 768})

        login(page, live_server, "sup", PASSWORD)
        page.goto(f"{live_server.url}/admin/routing/businesscalendar/")
        row = page.locator("#result_list tr", has_text="办公室 朝九晚六")
        assert "周一–周五 09:00–12:00, 13:30–18:00" in row.inner_text()
        assert "物流" in row.inner_text() or "Logistics" in row.inner_text()

        page.click("text=办公室 朝九晚六")
        preview = page.locator("#calendar-preview")
        assert "09:00–12:00, 13:30–18:00" in preview.locator('[data-date="2026-09-28"]').inner_text()
        assert "法定节假日" in preview.locator('[data-date="2026-10-01"]').inner_text()
        assert "调休补班日" in preview.locator('[data-date="2026-10-10"]').inner_text()
        assert "休息日（本日历）" in preview.locator('[data-date="2026-10-08"]').inner_text()  # the annual meeting
        assert "09:00–12:00, 13:30–18:00" in preview.locator('[data-date="2026-09-30"]').inner_text()
        screenshot(page, "desk-calendar")

        # A day off of the company's own: the day before the holiday.
        page.locator("#days-group .add-row a").click()
        new_row = page.locator("#days-group tr.dynamic-days").last
        new_row.locator("input[name$='-date']").fill("2026-09-30")
        new_row.locator("input[name$='-note']").fill("提前放假")
        with page.expect_navigation():
            page.click("input[name=_continue]")
        assert page.locator(".messagelist .success").count() == 1
        day = page.locator('#calendar-preview [data-date="2026-09-30"]')
        assert "休息日（本日历）" in day.inner_text()
        assert "calendar-closed" in (day.get_attribute("class") or "")
        assert office.days.filter(date=date(2026, 9, 30), open=False).exists()
