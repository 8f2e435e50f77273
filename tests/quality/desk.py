"""Handled tickets with known times, agents and answers, for the service figures and exports tests.

``figures_desk(now)`` builds, all ended within the last 7 days unless said otherwise:

    T1 return · refunded     li (operations)   public reply +30 min, approved +1 h, ended +10 h, score 5
    T2 complaint · closed    li (operations)   first move +2 h, a missed step, reopened, ended +20 h, score 1 "=1+1"
    T3 exchange · completed  wang (warehouse)  internal note +10 min (not a response), moved +4 h, ended +30 h
    T4 logistics · closed    nobody (logistics, the system moved it), ended +5 h
    cancelled in the period, and a return ended 10 days ago: not handled in the last 7 days.

Expected (the last 7 days): li 2 handled, first response 75 min, resolution 15 h, breach 50 %, reopen 50 %,
satisfaction 3.00 (2); wang 1, 4 h, 30 h, 0 %, 0 %, no answer; no agent 1, no response, 5 h.
Total 4: first response 130 min (3 responded), resolution 16.25 h, breach 25 %, reopen 25 %, 3.00 (2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.groups import department_groups_sync
from quality.models import Survey
from routing.models import Department, StaffMember
from tests.factories.tickets import ticket_build, user_create
from tickets.actors import ActorKind
from tickets.models import EventType, Ticket, TicketEvent


@dataclass
class FiguresDesk:
    now: datetime
    li: object
    wang: object
    tickets: dict[str, Ticket]


def staff(username: str, department: str, **fields):
    """A staff user of ``department``, in its permission group (as the admin's staff page makes them)."""
    user = user_create(username, is_staff=True, **fields)
    StaffMember.objects.create(user=user).departments.add(Department.objects.get(code=department))
    department_groups_sync(user=user, codes=[department])
    return user


def event(ticket: Ticket, at: datetime, event_type: str = EventType.TRANSITION, *, user=None, **fields) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        event_type=event_type,
        created_at=at,
        actor_kind=ActorKind.STAFF if user else fields.pop("actor_kind", ActorKind.SYSTEM),
        actor_user=user,
        actor_name=user.get_username() if user else "system",
        **fields,
    )


def ended(kind: str, state: str, *, created: datetime, hours: float) -> Ticket:
    ticket = ticket_build(kind, state)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=created, closed_at=created + timedelta(hours=hours))
    return Ticket.objects.get(pk=ticket.pk)


def answer(ticket: Ticket, score: int, comment: str = "") -> Survey:
    at = ticket.closed_at + timedelta(hours=1)
    return Survey.objects.create(
        ticket=ticket,
        language="zh-hans",
        sent_at=ticket.closed_at,
        expires_at=at + timedelta(days=14),
        score=score,
        comment=comment,
        answered_at=at,
    )


def figures_desk(now: datetime | None = None) -> FiguresDesk:
    now = now or timezone.now()
    li, wang = staff("li", "operations"), staff("wang", "warehouse")

    t1 = ended("return", "refunded", created=now - timedelta(days=3), hours=10)
    c = t1.created_at
    event(t1, c + timedelta(minutes=30), EventType.COMMENT, user=li, reason="您好，已收到")
    event(t1, c + timedelta(hours=1), user=li, transition="approve", step_department="operations", step_met=True)
    answer(t1, 5, "很快")

    t2 = ended("complaint", "closed", created=now - timedelta(days=2), hours=20)
    c = t2.created_at
    event(t2, c + timedelta(hours=2), user=li, transition="acknowledge", step_department="operations", step_met=False)
    event(t2, c + timedelta(hours=8), transition="reopen", actor_kind=ActorKind.BUYER)
    answer(t2, 1, "=1+1")

    t3 = ended("exchange", "completed", created=now - timedelta(days=2), hours=30)
    c = t3.created_at
    event(t3, c + timedelta(minutes=10), EventType.COMMENT, user=wang, reason="内部备注", public=False)
    event(t3, c + timedelta(hours=4), user=wang, transition="receive", step_department="warehouse", step_met=True)

    t4 = ended("logistics", "closed", created=now - timedelta(days=1), hours=5)
    event(t4, t4.created_at + timedelta(hours=1), transition="resolve", step_department="logistics", step_met=True)

    cancelled = ended("return", "cancelled", created=now - timedelta(days=1), hours=1)
    old = ended("return", "refunded", created=now - timedelta(days=11), hours=24)
    event(old, old.created_at + timedelta(hours=1), user=li, transition="approve", step_department="operations")
    return FiguresDesk(now, li, wang, {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "cancelled": cancelled, "old": old})
