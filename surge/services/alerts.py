"""The queue watch: every department's projection, and the supervisors alerted where breaches are coming.

Run by the beat task ``surge.tasks.watch_queues_task`` every ``KEFU_SURGE_WATCH_SECONDS``. An alert is a
``SurgeAlert`` row (the projection it was raised on, the tickets at risk) and one message per supervisors'
recipient (their group robot, else the on-duty supervisors' email: notifications.messages) through the outbox,
in the transaction that writes the row. Never more than one per department within
``KEFU_SURGE_ALERT_COOLDOWN_MINUTES``: the department's row is locked while the last alert is looked up, so two
watches running at once raise one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications.messages import department_recipients, ticket_message_enqueue
from notifications.models import Audience, Event
from routing.models import Department
from surge.models import SurgeAlert
from surge.selectors import DepartmentWatch, queues_watch
from tickets.models import Ticket

# The message names this many tickets at risk with their links; the watch page lists them all.
MESSAGE_TICKETS = 10


def surge_watch(*, now: datetime | None = None) -> list[SurgeAlert]:
    """Project every department's queue and alert where at least ``KEFU_SURGE_ALERT_MIN_BREACHES`` breaches are
    projected within the horizon. Returns the alerts raised (none for a department within its cooldown)."""
    now = now or timezone.now()
    raised = []
    for watch in queues_watch(now=now):
        if watch.projection is not None and watch.breaches >= settings.KEFU_SURGE_ALERT_MIN_BREACHES:
            alert = surge_alert_raise(watch=watch, now=now)
            if alert is not None:
                raised.append(alert)
    return raised


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def surge_alert_raise(*, watch: DepartmentWatch, now: datetime) -> SurgeAlert | None:
    """Record the alert of ``watch``'s projection and tell the supervisors, unless the department had one within
    the cooldown (then None). Locks the department's row for the look-up and the write."""
    if watch.projection is None or watch.handled_per_hour is None:
        return None
    with transaction.atomic():
        department = Department.objects.select_for_update().get(code=watch.code)
        since = now - timedelta(minutes=settings.KEFU_SURGE_ALERT_COOLDOWN_MINUTES)
        if SurgeAlert.objects.filter(department=department, created_at__gt=since).exists():
            return None
        alert = SurgeAlert.objects.create(
            department=department,
            created_at=now,
            arrivals_per_hour=watch.arrivals_per_hour,
            handled_per_hour=watch.handled_per_hour,
            backlog=watch.backlog,
            breaches=watch.breaches,
            hours_to_breach=watch.projection.hours_to_first_breach,
            horizon_hours=watch.projection.horizon_hours,
            at_risk=[
                {
                    "id": ticket.id,
                    "number": ticket.number,
                    "due_at": ticket.due_at.isoformat(),
                    "in_hours": round(hours, 2),
                }
                for ticket, hours in watch.at_risk
            ],
        )
        alert.notified = _supervisors_tell(alert=alert, watch=watch, now=now)
        if alert.notified:
            alert.save(update_fields=["notified"])
    return alert


def _absolute(path: str) -> str:
    return f"{settings.KEFU_PUBLIC_BASE_URL}{path}"


def _supervisors_tell(*, alert: SurgeAlert, watch: DepartmentWatch, now: datetime) -> int:
    """The alert's messages, one per supervisors' recipient (caller's transaction). The outbox keeps each message
    with a ticket: the first at risk (else the first due within the horizon). None at all: nothing is sent, the
    alert is on the watch page."""
    anchor_id = alert.at_risk[0]["id"] if alert.at_risk else (watch.due_soon[0].id if watch.due_soon else None)
    if anchor_id is None:
        return 0
    ticket = Ticket.objects.select_related("order", "shop", "buyer").get(pk=anchor_id)
    listed = [
        f"{row['number']} {_absolute(reverse('admin:tickets_ticket_change', args=[row['id']]))}"
        for row in alert.at_risk[:MESSAGE_TICKETS]
    ]
    more = len(alert.at_risk) - len(listed)
    if more > 0:
        listed.append(f"(+{more})")
    rows = ticket_message_enqueue(
        ticket=ticket,
        message_event=Event.SURGE_ALERT,
        recipients=department_recipients("supervisors", Audience.SUPERVISORS),
        scope=f"surge-alert:{alert.pk}",
        at=now,
        extra={
            "department": watch.name,
            "breaches": alert.breaches,
            "horizon": _rounded(alert.horizon_hours),
            "hours_to_breach": _rounded(alert.hours_to_breach),
            "arrivals": _rounded(alert.arrivals_per_hour),
            "handled": _rounded(alert.handled_per_hour),
            "backlog": alert.backlog,
            "at_risk": "; ".join(listed) or "—",
            "watch_url": _absolute(reverse("admin:surge-watch")),
        },
    )
    return len(rows)
