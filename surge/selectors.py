"""The queue watch's figures per department, read in a fixed number of queries whatever the number of departments
or tickets (four, besides routing's configuration snapshots), and the projection of each (surge.projection).

- arrivals per hour: steps a department started in the window (those already ended, from the timeline's step
  figures, and those still open), over the window's calendar hours;
- handled per hour: steps the department ended in the window (moved on, closed), over the hours the department
  worked in the window (its business-hours calendar; the window's hours without one). Less than
  ``MIN_WORKED_HOURS`` of work in the window (the morning's first minutes): no rate, no projection;
- backlog: the department's open tickets; overdue: those of them already past their step deadline (the sweep
  escalates them; they are not projected);
- the open tickets due within the horizon, in the queue's order: the only ones that can breach within it (the
  queue serves earlier deadlines first, so a ticket due later never goes before them).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q

from kefu.core import business_hours
from routing.calendars import business_between, department_schedule
from routing.config import routing_config
from surge.projection import MINUTES_PER_HOUR, Projection, project
from tickets.models import Ticket, TicketEvent

# Below this much work in the window the department's throughput is unknown (it just opened): no projection.
MIN_WORKED_HOURS = 0.5


@dataclass(frozen=True)
class QueueTicket:
    id: int
    number: str
    due_at: datetime
    priority: int


@dataclass
class DepartmentWatch:
    """One department's figures and, when its throughput is known, its projection."""

    code: str
    name: str
    arrivals_per_hour: float = 0.0
    handled_per_hour: float | None = None
    backlog: int = 0
    overdue: int = 0
    new_step_hours: float | None = None
    due_soon: list[QueueTicket] = field(default_factory=list)
    projection: Projection | None = None

    @property
    def breaches(self) -> int:
        return self.projection.breaches if self.projection is not None else 0

    @property
    def at_risk(self) -> list[tuple[QueueTicket, float]]:
        """The open tickets projected to breach, with the hours until they would, in the order they would."""
        if self.projection is None:
            return []
        found = zip(self.projection.at_risk, self.projection.at_risk_hours, strict=True)
        return [(self.due_soon[index], hours) for index, hours in found]


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _open_minutes(code: str, now: datetime, horizon: float) -> list[bool] | None:
    """Per minute of the horizon, whether department ``code`` works (None: no calendar, always)."""
    schedule = department_schedule(code)
    if schedule is None:
        return None
    minutes = int(horizon * MINUTES_PER_HOUR) + 1
    return [business_hours.is_open(schedule, now + timedelta(minutes=m)) for m in range(minutes)]


def queues_watch(*, now: datetime, horizon_hours: float | None = None) -> list[DepartmentWatch]:
    """Every department's figures and projection at ``now``, by department code. Four queries."""
    horizon = settings.KEFU_SURGE_HORIZON_HOURS if horizon_hours is None else horizon_hours
    window = settings.KEFU_SURGE_WINDOW_HOURS
    since = now - timedelta(hours=window)
    until = now + timedelta(hours=horizon)
    watches = {
        code: DepartmentWatch(code=code, name=department.name)
        for code, department in sorted(routing_config.get().departments.items())
    }
    arrived: dict[str, int] = defaultdict(int)
    # 1. the backlog, and how much of it is overdue (ticket_open_idx holds both columns).
    open_tickets = Ticket.objects.filter(closed_at__isnull=True, department__in=list(watches))
    for row in (
        open_tickets.order_by()
        .values("department")
        .annotate(n=Count("pk"), overdue=Count("pk", filter=Q(step_due_at__lte=now)))
    ):
        watches[row["department"]].backlog = row["n"]
        watches[row["department"]].overdue = row["overdue"]
    # 2. the open tickets whose step started in the window: arrivals, and the time they were given.
    allowed: dict[str, list[float]] = defaultdict(list)
    recent = (
        open_tickets.filter(step_started_at__gt=since)
        .order_by()
        .values_list("department", "step_started_at", "step_due_at")
    )
    for code, started, due in recent:
        arrived[code] += 1
        if due is not None:
            allowed[code].append(_hours(due - started))
    # 3. the steps that ended in the window (ticket_event_step_idx): handled, and arrivals already gone.
    handled: dict[str, int] = {}
    ended = (
        TicketEvent.objects.filter(
            step_seconds__isnull=False, created_at__gt=since, created_at__lte=now, step_department__in=list(watches)
        )
        .order_by()
        .values("step_department")
        .annotate(n=Count("pk"), arrived=Count("pk", filter=Q(step_started_at__gt=since)))
    )
    for row in ended:
        handled[row["step_department"]] = row["n"]
        arrived[row["step_department"]] += row["arrived"]
    # 4. the open tickets due within the horizon, in the queue's order.
    due_soon = open_tickets.filter(step_due_at__gt=now, step_due_at__lte=until).order_by(
        "step_due_at", "-priority", "pk"
    )
    for pk, number, code, due, priority in due_soon.values_list(
        "pk", "number", "department", "step_due_at", "priority"
    ):
        watches[code].due_soon.append(QueueTicket(id=pk, number=number or str(pk), due_at=due, priority=priority))
    for code, watch in watches.items():
        watch.arrivals_per_hour = arrived[code] / window
        if allowed[code]:
            watch.new_step_hours = statistics.median(allowed[code])
        worked = _hours(business_between(code, since, now))
        if worked >= MIN_WORKED_HOURS:
            watch.handled_per_hour = handled.get(code, 0) / worked
            watch.projection = project(
                deadlines=[_hours(ticket.due_at - now) for ticket in watch.due_soon],
                arrivals_per_hour=watch.arrivals_per_hour,
                handled_per_hour=watch.handled_per_hour,
                horizon_hours=horizon,
                new_step_hours=watch.new_step_hours,
                open_minutes=_open_minutes(code, now, horizon),
            )
    return list(watches.values())
