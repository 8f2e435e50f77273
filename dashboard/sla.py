"""SLA figures, computed from the timeline (never from counters that could drift).

Every transition event carries the figures of the step it ended (``step_*`` columns, written once by the
engine): state, department that owned it, start, deadline, duration, met or breached. Aggregates are
GROUP BY queries over those rows through ``ticket_event_step_idx``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tickets.models import Ticket, TicketEvent

GROUPS = {
    "department": "step_department",
    "kind": "ticket__kind",
    "state": "step_state",
    "day": "day",
}


@dataclass(frozen=True)
class StepFigure:
    state: str
    department: str
    started_at: datetime | None  # the column is nullable
    ended_at: datetime | None
    due_at: datetime | None
    seconds: int
    met: bool | None  # None: no deadline, or still running and not yet late


def ticket_sla(*, ticket: Ticket, now: datetime | None = None) -> list[StepFigure]:
    """Each step of one ticket: who owned it, how long it took, met or breached; the running step last."""
    now = now or timezone.now()
    steps = [
        StepFigure(
            state=e.step_state,
            department=e.step_department,
            started_at=e.step_started_at,
            ended_at=e.created_at,
            due_at=e.step_due_at,
            seconds=e.step_seconds or 0,
            met=e.step_met,
        )
        for e in TicketEvent.objects.filter(ticket_id=ticket.pk, step_seconds__isnull=False).order_by(
            "created_at", "pk"
        )
    ]
    if ticket.closed_at is None:
        late = ticket.sla_breached or (ticket.step_due_at is not None and now > ticket.step_due_at)
        steps.append(
            StepFigure(
                state=ticket.state,
                department=ticket.step_department,
                started_at=ticket.step_started_at,
                ended_at=None,
                due_at=ticket.step_due_at,
                seconds=max(0, int((now - ticket.step_started_at).total_seconds())),
                met=False if late else None,
            )
        )
    return steps


def sla_summary(
    *, since: datetime, until: datetime | None = None, group_by: tuple[str, ...] = ("department",)
) -> list[dict]:
    """Steps ended in [since, until), grouped (department, kind, state, day): count, met, breached, met %,
    average seconds. Steps without a deadline count in ``steps`` and the average but not in met %.
    """
    until = until or timezone.now()
    fields = [GROUPS[g] for g in group_by]
    events: QuerySet = TicketEvent.objects.filter(
        step_seconds__isnull=False, created_at__gte=since, created_at__lt=until
    )
    if "day" in group_by:
        events = events.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
    rows = (
        events.values(*fields)
        .annotate(
            steps=Count("pk"),
            met=Count("pk", filter=Q(step_met=True)),
            breached=Count("pk", filter=Q(step_met=False)),
            avg_seconds=Avg("step_seconds"),
        )
        .order_by(*fields)
    )
    result = []
    for row in rows:
        timed = row["met"] + row["breached"]
        result.append(
            {
                **{g: row[GROUPS[g]] for g in group_by},
                "steps": row["steps"],
                "met": row["met"],
                "breached": row["breached"],
                "met_percent": round(100 * row["met"] / timed, 1) if timed else None,
                "avg_seconds": round(row["avg_seconds"] or 0),
            }
        )
    return result
