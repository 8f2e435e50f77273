"""Internal SLAs count the department's business hours; the buyer's and the platform's deadlines stay calendar time.

Operations works 09:00–12:00 and 13:30–18:00 on China's workdays (tests.factories.calendars). A complaint opened
on a Friday at 17:00 with a 4-hour policy is due on Monday at noon (one hour on Friday, three on Monday), and
the sweep leaves it alone over the weekend; over 国庆 2026 it is due on Thursday 8 October. What a buyer or a
marketplace is promised runs through the same weekend. The queue's chip reads it all from ``time_left``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing.models import DeadlinePolicy
from tests.factories.calendars import office_calendar
from tests.factories.desk import open_complaint, open_return, reload, sweep_events
from tests.factories.tickets import order_with_line
from tickets.actors import Actor
from tickets.clock import AUTOMATIC, BUSINESS, BUYER_TIME, CALENDAR, INTERNAL, PLATFORM, time_left
from tickets.models import EventType
from tickets.services.deadlines import sweep_due
from tickets.services.opening import Platform
from tickets.services.platform import ticket_platform_deadline_set

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
M = timedelta(minutes=1)

pytestmark = pytest.mark.django_db


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


FRIDAY_17 = at(12, 4, 17)
MONDAY_NOON = at(12, 7, 12)


@pytest.fixture
def four_hour_complaints() -> None:
    """Operations on office hours; complaints' first step (``open``, an internal SLA) gets 4 hours."""
    office_calendar("operations")
    DeadlinePolicy.objects.create(name="4 小时响应", kind="complaint", state="open", duration=4 * H)


def escalations(ticket) -> list:
    return [e for e in sweep_events(ticket) if e.event_type == EventType.ESCALATION]


@pytest.mark.usefixtures("four_hour_complaints")
def test_friday_1700_with_four_business_hours_is_due_monday_noon_and_not_overdue_over_the_weekend() -> None:
    with time_machine.travel(FRIDAY_17, tick=False) as clock:
        ticket = open_complaint()
        assert (ticket.department, ticket.step_due_at, ticket.due_at) == ("operations", MONDAY_NOON, MONDAY_NOON)
        # The warning at 80 % of the business time: 3 h 12 min in, Monday 11:12.
        assert ticket.warn_at == at(12, 7, 11, 12)
        assert time_left(ticket, FRIDAY_17) == (4 * 3600, BUSINESS, INTERNAL, MONDAY_NOON)

        for moment in (at(12, 4, 18), at(12, 5, 12), at(12, 6, 23, 59), at(12, 7, 9)):
            clock.move_to(moment)
            result = sweep_due()
            assert (result.escalated, result.warned) == (0, 0), moment
            left = time_left(reload(ticket), moment)
            assert (
                left is not None and left.seconds == 3 * 3600 and left.basis == BUSINESS
            )  # the weekend is not counted

        clock.move_to(at(12, 7, 11, 59))
        assert sweep_due().escalated == 0
        assert time_left(reload(ticket), at(12, 7, 11, 59)).seconds == 60

        clock.move_to(MONDAY_NOON + M)
        assert sweep_due().escalated == 1
        ticket = reload(ticket)
        assert ticket.sla_breached and ticket.department == "supervisors"
        assert time_left(ticket, MONDAY_NOON + M).seconds == 0  # lunch: not a minute of business time overdue yet
        assert time_left(ticket, at(12, 7, 14)).seconds == -30 * 60


@pytest.mark.usefixtures("four_hour_complaints")
def test_over_national_day_2026_the_deadline_moves_past_the_holiday() -> None:
    with time_machine.travel(at(9, 30, 17), tick=False) as clock:
        ticket = open_complaint()
        assert ticket.step_due_at == at(10, 8, 12)  # closed 1–7 October, Thursday the 8th a workday
        clock.move_to(at(10, 5, 12))
        assert sweep_due().escalated == 0
        clock.move_to(at(10, 8, 12, 1))
        assert sweep_due().escalated == 1
        assert escalations(ticket)


@pytest.mark.usefixtures("four_hour_complaints")
def test_a_make_up_saturday_counts() -> None:
    with time_machine.travel(at(10, 9, 17), tick=False):
        ticket = open_complaint()
    assert ticket.step_due_at == at(10, 10, 12)  # Saturday 10 October 2026 is a workday (调休)


def test_a_department_without_a_calendar_keeps_calendar_time(clock) -> None:
    office_calendar("warehouse")  # another department's calendar changes nothing for operations
    DeadlinePolicy.objects.create(name="4 小时响应", kind="complaint", state="open", duration=4 * H)
    with time_machine.travel(FRIDAY_17, tick=False):
        ticket = open_complaint()
    assert ticket.step_due_at == FRIDAY_17 + 4 * H
    assert time_left(ticket, FRIDAY_17) == (4 * 3600, CALENDAR, INTERNAL, FRIDAY_17 + 4 * H)


def test_a_platform_deadline_over_the_weekend_still_runs() -> None:
    office_calendar("operations")
    platform_due = at(12, 6, 12)  # Sunday noon: Taobao approves by itself then
    with time_machine.travel(FRIDAY_17, tick=False) as clock:
        ticket = open_return(platform=Platform("taobao", due_at=platform_due))
        # kefu's own 48 h would be two working days (Tuesday 17:00); the platform's deadline less the 2 h margin wins.
        assert ticket.step_due_at == platform_due - 2 * H
        left = time_left(ticket, FRIDAY_17)
        assert left == (41 * 3600, CALENDAR, PLATFORM, platform_due - 2 * H)

        clock.move_to(platform_due - 2 * H + M)
        assert sweep_due().escalated == 1  # on a Sunday, the office closed
        assert reload(ticket).sla_breached


def test_the_platform_moving_its_deadline_recomputes_kefus_own_in_business_time() -> None:
    office_calendar("operations")
    with time_machine.travel(FRIDAY_17, tick=False) as clock:
        ticket = open_return(platform=Platform("taobao", due_at=at(12, 6, 12)))
        clock.move_to(at(12, 4, 17, 30))
        ticket = ticket_platform_deadline_set(ticket=ticket, due_at=at(12, 20, 12), actor=Actor.platform("taobao"))
    # 48 h = two working days of operations from Friday 17:00: Tuesday 17:00, before the platform's.
    assert ticket.step_due_at == at(12, 8, 17)
    assert time_left(ticket, at(12, 7, 17)).binding == INTERNAL
    assert time_left(ticket, at(12, 7, 17)).basis == BUSINESS


def test_buyer_facing_deadlines_stay_calendar_time() -> None:
    office_calendar("operations", "warehouse")
    with time_machine.travel(FRIDAY_17, tick=False) as clock:
        ticket = open_return()
        # 48 h, then the return is approved for the buyer: calendar time, Sunday 17:00.
        assert ticket.step_due_at == FRIDAY_17 + 48 * H
        assert time_left(ticket, FRIDAY_17) == (48 * 3600, CALENDAR, AUTOMATIC, FRIDAY_17 + 48 * H)
        clock.move_to(FRIDAY_17 + 48 * H + M)
        assert sweep_due().transitioned == 1
        ticket = reload(ticket)
        assert ticket.state == "awaiting_return"
        # The buyer's 7 days to ship the parcel: calendar days, whatever the warehouse's hours.
        assert ticket.step_due_at == FRIDAY_17 + 48 * H + M + 7 * 24 * H
        assert time_left(ticket, ticket.step_started_at).basis == CALENDAR
        assert time_left(ticket, ticket.step_started_at).binding == BUYER_TIME


def test_a_day_long_internal_sla_counts_working_days() -> None:
    office_calendar("operations")
    DeadlinePolicy.objects.create(name="1 个工作日", kind="complaint", state="open", duration=24 * H)
    with time_machine.travel(FRIDAY_17, tick=False):
        ticket = open_complaint()
    # 24 h of an internal SLA is one working day: Monday 17:00, not 24 business hours (the Thursday after).
    assert ticket.step_due_at == at(12, 7, 17)
    assert time_left(ticket, FRIDAY_17) == (int(7.5 * 3600), BUSINESS, INTERNAL, at(12, 7, 17))


def test_a_calendar_costs_the_write_path_no_query() -> None:
    """Opening a ticket reads no more rows with a calendar than without (the calendars are cached)."""
    DeadlinePolicy.objects.create(name="4 小时响应", kind="complaint", state="open", duration=4 * H)
    order = order_with_line(quantity=5)
    with time_machine.travel(FRIDAY_17, tick=False):
        open_complaint(order)  # warm the snapshots
        with CaptureQueriesContext(connection) as without:
            open_complaint(order)
        office_calendar("operations")
        open_complaint(order)  # the calendars' snapshot loads once per process
        with CaptureQueriesContext(connection) as with_calendar:
            ticket = open_complaint(order)
    assert ticket.step_due_at == MONDAY_NOON
    assert len(with_calendar) == len(without)


def test_no_deadline_no_time_left() -> None:
    with time_machine.travel(FRIDAY_17, tick=False):
        ticket = open_complaint()
    ticket.step_due_at = None
    assert time_left(ticket, FRIDAY_17) is None
