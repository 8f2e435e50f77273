"""Business time of a department: its calendar's hours, China's holidays and make-up workdays, its own days.

Internal SLAs (an escalating merchant step's deadline and warning, the escalation re-check) count business
time of the department that holds the step; what a buyer or a marketplace is promised (a buyer's time to ship
a return, an automatic approval after 48 h, the platform's deadline) stays calendar time: the ticket engine
chooses (tickets.clock). A department without a calendar works around the clock (24×7), as before calendars.

No query for a department without a calendar; otherwise the calendars' snapshot (routing.config), read once per
process and reloaded when a calendar changes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kefu.core import business_hours
from kefu.core.business_hours import NeverOpen, Schedule
from routing.config import calendar_schedules, routing_config

logger = logging.getLogger(__name__)


def department_schedule(code: str | None) -> Schedule | None:
    """The schedule of department ``code``'s calendar; None when it has none (or there is no such department)."""
    if not code:
        return None
    department = routing_config.get().departments.get(code)
    if department is None or department.calendar_id is None:
        return None
    return calendar_schedules.get().get(department.calendar_id)


def business_add(code: str | None, start: datetime, delta: timedelta) -> datetime:
    """``delta`` of department ``code``'s business time after ``start`` (calendar time without a calendar)."""
    schedule = department_schedule(code)
    if schedule is None:
        return start + delta
    try:
        return business_hours.add(schedule, start, delta)
    except NeverOpen:
        return _never_open(code, start, delta)


def business_deadline(code: str | None, start: datetime, delta: timedelta) -> datetime:
    """An internal SLA of ``delta`` from ``start`` in department ``code``: business hours under a day, working
    days from a day on (kefu.core.business_hours.deadline); calendar time without a calendar."""
    schedule = department_schedule(code)
    if schedule is None:
        return start + delta
    try:
        return business_hours.deadline(schedule, start, delta)
    except NeverOpen:
        return _never_open(code, start, delta)


def _never_open(code: str | None, start: datetime, delta: timedelta) -> datetime:
    """A calendar without opening hours (the admin refuses one; a script might not) must not stop ticket changes:
    the deadline counts calendar time, and the log says why."""
    logger.error("The calendar of department %s never opens: its deadlines count calendar time.", code)
    return start + delta


def business_between(code: str | None, start: datetime, end: datetime) -> timedelta:
    """Department ``code``'s business time from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    schedule = department_schedule(code)
    if schedule is None:
        return end - start
    return business_hours.between(schedule, start, end)
