"""Service figures per agent and per department over a period (docs/desk.md, "Service figures and export").

Definitions (each computed in the database, from the tickets table, their timeline and their survey):

- handled: tickets that ended in the period (``closed_at`` in [since, until)), except those the buyer cancelled;
- agent: the staff user of the ticket's last transition run by staff (who decided it; an end step clears
  ``assignee``, so the timeline says who it was); tickets no staff member moved have no agent;
- department: the last department that owned a step of the ticket (``step_department`` on its timeline);
- first response: the first timeline entry by staff after the ticket was opened that the buyer would notice:
  a public comment or a transition; tickets without one are left out of the average;
- resolution time: from opening (``created_at``) to the end (``closed_at``);
- SLA breach rate: the share of handled tickets with at least one merchant step that missed its deadline
  (``step_met`` false on a timeline entry with a department);
- reopen rate: the share of handled tickets that were reopened (the complaint's ``reopen`` transition; the other
  kinds cannot be reopened, so only complaints count as reopened);
- satisfaction: the average and number of the buyers' answers (quality.Survey) of the handled tickets.

``quality_figures`` runs five queries whatever the period's size: one aggregate per agent, one per department,
one for the totals, and the names of the agents and departments (on PostgreSQL two more switch JIT off and on
around the aggregates: ``jit_off``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from routing.models import Department
from tickets.actors import ActorKind
from tickets.models import EventType, Ticket, TicketEvent

CANCELLED = "cancelled"  # every kind's withdrawn state (kefu.core.vocabulary)


@contextmanager
def jit_off() -> Iterator[None]:
    """PostgreSQL's JIT switched off for this connection meanwhile (a no-op elsewhere).

    These queries cost enough for the planner to compile them (``jit_above_cost``), and compiling takes longer
    than running them: a month of figures at 100,000 tickets took 2.5 s with JIT and 0.4 s without
    (docs/desk.md). ``RESET`` gives the connection back as it was, also when the caller stops early.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


def handled_tickets(*, since: datetime, until: datetime) -> QuerySet[Ticket]:
    """The period's handled tickets, each annotated with ``agent_id``, ``team``, ``first_response_at``,
    ``breached_event``, ``reopened_event`` (subqueries of its timeline: the first such entry's id, or None) and
    ``score`` (its survey's answer)."""
    events = TicketEvent.objects.filter(ticket_id=OuterRef("pk"))
    last_staff = (
        events.filter(event_type=EventType.TRANSITION, actor_kind=ActorKind.STAFF, actor_user__isnull=False)
        .order_by("-created_at", "-pk")
        .values("actor_user_id")[:1]
    )
    last_department = events.exclude(step_department="").order_by("-created_at", "-pk").values("step_department")[:1]
    first_response = (
        events.filter(actor_kind=ActorKind.STAFF)
        .filter(Q(event_type=EventType.TRANSITION) | Q(event_type=EventType.COMMENT, public=True))
        .values("ticket_id")
        .annotate(first=Min("created_at"))
        .values("first")[:1]
    )
    return (
        Ticket.objects.filter(closed_at__gte=since, closed_at__lt=until)
        .exclude(state=CANCELLED)
        .annotate(
            agent_id=Subquery(last_staff, output_field=IntegerField()),
            team=Subquery(last_department),
            first_response_at=Subquery(first_response),
            # The first such entry's id (or NULL), not EXISTS: inside an aggregate's FILTER PostgreSQL turns an EXISTS
            # into a hashed subplan that reads the whole timeline (1 s at 100,000 tickets); a correlated LIMIT 1
            # reads the ticket's own entries through ticket_event_timeline_idx (60 ms for the same month).
            breached_event=Subquery(events.filter(step_met=False).exclude(step_department="").values("pk")[:1]),
            reopened_event=Subquery(
                events.filter(event_type=EventType.TRANSITION, transition="reopen").values("pk")[:1]
            ),
            score=F("satisfaction__score"),
        )
    )


def _aggregates() -> dict[str, Any]:
    return {
        "handled": Count("pk"),
        "breached_count": Count("breached_event"),
        "reopened_count": Count("reopened_event"),
        "resolution": Avg(ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())),
        "first_response": Avg(
            ExpressionWrapper(F("first_response_at") - F("created_at"), output_field=DurationField())
        ),
        "responded": Count("first_response_at"),
        "score_avg": Avg("score"),
        "score_count": Count("score"),
    }


def _seconds(value: Any) -> float | None:
    """An average duration as seconds: a timedelta (PostgreSQL's interval), or microseconds (SQLite's number)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000


@dataclass(frozen=True)
class Figures:
    """The figures of one agent, one department, or everyone."""

    key: str  # the agent's user id or the department's code ("" for none), "*" for the totals
    label: str
    handled: int
    first_response_seconds: float | None
    responded: int
    resolution_seconds: float | None
    breached: int
    reopened: int
    score_avg: float | None
    score_count: int

    @property
    def breach_percent(self) -> float | None:
        return 100.0 * self.breached / self.handled if self.handled else None

    @property
    def reopen_percent(self) -> float | None:
        return 100.0 * self.reopened / self.handled if self.handled else None


def _figures(key: str, label: str, row: dict[str, Any]) -> Figures:
    return Figures(
        key=key,
        label=label,
        handled=row["handled"] or 0,
        first_response_seconds=_seconds(row["first_response"]),
        responded=row["responded"] or 0,
        resolution_seconds=_seconds(row["resolution"]),
        breached=row["breached_count"] or 0,
        reopened=row["reopened_count"] or 0,
        score_avg=float(row["score_avg"]) if row["score_avg"] is not None else None,
        score_count=row["score_count"] or 0,
    )


@dataclass(frozen=True)
class QualityFigures:
    since: datetime
    until: datetime
    total: Figures
    by_agent: list[Figures]
    by_department: list[Figures]


def quality_figures(*, since: datetime, until: datetime, nobody: str, no_department: str) -> QualityFigures:
    """The period's figures per agent, per department and in total (five queries). ``nobody`` and
    ``no_department`` label the tickets without an agent or a department."""
    tickets = handled_tickets(since=since, until=until)
    aggregates = _aggregates()
    with jit_off():
        # agent_id and team are the annotations of handled_tickets (the stubs know only the model's fields).
        agent_rows = list(tickets.values("agent_id").annotate(**aggregates).order_by("agent_id"))  # type: ignore[misc]
        team_rows = list(tickets.values("team").annotate(**aggregates).order_by("team"))  # type: ignore[misc]
        total = tickets.aggregate(**aggregates)
    user_ids = [row["agent_id"] for row in agent_rows if row["agent_id"] is not None]
    users = {
        pk: (name or username)
        for pk, username, name in get_user_model()
        .objects.filter(pk__in=user_ids)
        .values_list("pk", "username", "first_name")
    }
    departments = dict(Department.objects.values_list("code", "name"))
    by_agent = sorted(
        (_figures(str(row["agent_id"] or ""), users.get(row["agent_id"], nobody), row) for row in agent_rows),
        key=lambda f: (f.key == "", -f.handled, f.label),
    )
    by_department = sorted(
        (
            _figures(row["team"] or "", departments.get(row["team"], row["team"] or no_department), row)
            for row in team_rows
        ),
        key=lambda f: (f.key == "", -f.handled, f.label),
    )
    return QualityFigures(since, until, _figures("*", "", total), by_agent, by_department)
