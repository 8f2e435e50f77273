"""Measure what business hours cost a deadline: the ticket engine's ``step_clock`` (a step's deadline and
warning) and the queue's ``time_left``, for a department with a calendar and one without (24×7), calendars read
from routing's snapshot as on the write path.

    DJANGO_DEBUG=true python manage.py bench_calendars

Runs in a transaction it rolls back (it gives a department a calendar for the measurement only). Prints µs per
call, the median of ``--repeat`` runs of ``--number`` calls.
"""

from __future__ import annotations

import functools
import statistics
import timeit
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from routing.config import calendar_schedules, routing_config
from routing.models import BusinessCalendar, Department, WorkingHours
from tickets.clock import step_clock, time_left
from tickets.models import ComplaintTicket

FRIDAY_17 = datetime(2026, 12, 4, 17, tzinfo=ZoneInfo("Asia/Shanghai"))


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Measure the cost of a business-hours deadline (step_clock, time_left), with and without a calendar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--number", type=int, default=2000)
        parser.add_argument("--repeat", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                self.measure(number=options["number"], repeat=options["repeat"])
                raise Rollback
        except Rollback:
            pass
        routing_config.invalidate()
        calendar_schedules.invalidate()

    @staticmethod
    def clock(ticket: ComplaintTicket, code: str, hours: int) -> object:
        return step_clock(ticket, department=code, start=FRIDAY_17, deadline=timedelta(hours=hours), warn_percent=80)

    def measure(self, *, number: int, repeat: int) -> None:
        calendar = BusinessCalendar.objects.create(name="bench: 办公时间")
        for weekday in range(5):
            for start, end in ((time(9), time(12)), (time(13, 30), time(18))):
                WorkingHours.objects.create(calendar=calendar, weekday=weekday, start=start, end=end)
        Department.objects.filter(code="operations").update(calendar=calendar)
        Department.objects.filter(code="warehouse").update(calendar=None)
        routing_config.invalidate()
        calendar_schedules.invalidate()
        ticket = ComplaintTicket(kind="complaint", state="open", step_department="operations")
        ticket.step_due_at, _warn = step_clock(
            ticket, department="operations", start=FRIDAY_17, deadline=timedelta(hours=4), warn_percent=80
        )
        rows: list[tuple[str, Callable[[], object]]] = []
        for label, code in (("calendar", "operations"), ("24x7", "warehouse")):
            for hours in (4, 48):
                rows.append((f"step_clock {hours:>2} h, {label}", functools.partial(self.clock, ticket, code, hours)))
        rows.append(("time_left, calendar", lambda: time_left(ticket, FRIDAY_17)))
        plain = ComplaintTicket(
            kind="complaint", state="open", step_department="warehouse", step_due_at=ticket.step_due_at
        )
        rows.append(("time_left, 24x7", lambda: time_left(plain, FRIDAY_17)))
        for label, call in rows:
            call()  # warm the snapshots
            runs = timeit.repeat(call, number=number, repeat=repeat)
            self.stdout.write(f"{label:<28} {statistics.median(runs) / number * 1e6:7.1f} µs")
