"""The deadline chip (desk.admin.display.deadline_chip): time left coloured by urgency, in the reader's language,
at the boundaries between its colours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from desk.admin.display import deadline_chip
from tickets.models import Ticket

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def chip(left: timedelta | None, language: str = "zh-hans") -> str:
    ticket = Ticket(step_due_at=None if left is None else NOW + left)
    with translation.override(language):
        return str(deadline_chip(ticket, NOW))


@pytest.mark.parametrize(
    ("left", "urgency", "zh", "en"),
    [
        (timedelta(days=2, hours=5, minutes=10), "calm", "剩 2 天 5 小时", "2 days 5 hours left"),
        (timedelta(hours=4), "calm", "剩 4 小时", "4 hours left"),
        (timedelta(hours=4) - timedelta(seconds=1), "soon", "剩 3 小时 59 分钟", "3 hours 59 minutes left"),
        (timedelta(hours=1), "soon", "剩 1 小时", "1 hour left"),
        (timedelta(minutes=59, seconds=59), "urgent", "剩 59 分钟", "59 minutes left"),
        (timedelta(minutes=45), "urgent", "剩 45 分钟", "45 minutes left"),
        (timedelta(0), "urgent", "剩 0 分钟", "0 minutes left"),
        (-timedelta(seconds=1), "overdue", "超时 1 分钟", "overdue by 1 minute"),
        (-timedelta(hours=2), "overdue", "超时 2 小时", "overdue by 2 hours"),
        (-timedelta(days=1, minutes=1), "overdue", "超时 1 天", "overdue by 1 day"),
        (-timedelta(days=3, hours=2), "overdue", "超时 3 天 2 小时", "overdue by 3 days 2 hours"),
    ],
)
def test_the_chip_says_the_time_left_or_overdue_in_the_colour_of_its_urgency(left, urgency, zh, en):
    shown = chip(left)
    assert f'class="kefu-chip kefu-chip--{urgency}' in shown and f'data-urgency="{urgency}"' in shown
    assert f">{zh}</span>" in shown
    assert f">{en}</span>" in chip(left, "en")


def test_an_overdue_chip_is_red_as_the_overdue_due_times_were():
    assert "kefu-overdue" in chip(-timedelta(minutes=5)) and "kefu-overdue" not in chip(timedelta(minutes=5))


def test_the_deadline_itself_is_the_tooltip_in_local_time(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    assert 'title="截止 2026-12-07 17:30 · 自然时间"' in chip(timedelta(hours=3, minutes=30))


def test_no_running_clock_shows_a_dash():
    assert chip(None) == "—"


@pytest.mark.django_db
def test_an_internal_deadline_on_office_hours_shows_working_time_and_says_so():
    """Friday 17:00, a 4-hour SLA on office hours (09–12, 13:30–18): due Monday noon. At 17:30 the chip says three
    and a half hours of working time are left (amber), not the 66 hours of the calendar, and its tooltip names
    the clock."""
    from zoneinfo import ZoneInfo

    import time_machine

    from routing.models import DeadlinePolicy
    from tests.factories.calendars import office_calendar
    from tests.factories.desk import open_complaint

    friday_17 = datetime(2026, 12, 4, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    office_calendar("operations")
    DeadlinePolicy.objects.create(name="4 小时响应", kind="complaint", state="open", duration=timedelta(hours=4))
    with time_machine.travel(friday_17, tick=False):
        ticket = open_complaint()
    plain = Ticket.objects.get(pk=ticket.pk)  # as the queue's rows load it: the base model
    with translation.override("zh-hans"):
        shown = str(deadline_chip(plain, friday_17 + timedelta(minutes=30)))
    assert 'data-basis="business"' in shown and "kefu-chip--soon" in shown
    assert ">剩 3 小时 30 分钟 工作时间</span>" in shown, shown
    assert "按部门工作时间计" in shown
