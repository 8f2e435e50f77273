"""Tickets whose platform clock runs out before the incident's timeline: flagged and escalated.

An incident never breaks a marketplace's deadline (``Ticket.platform_due_at``): a ticket of it the platform would
decide on before the buyer's new delivery date (at the start), or before its moved internal deadline (an
extension, incidents.services.deadlines), is flagged on its ``IncidentTicket`` (``platform_flagged_at``, once) and
escalated through the deadline sweep's own ``ticket_escalate`` (supervisors, priority up, on the timeline).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from django.utils import timezone

from incidents.models import Incident, IncidentTicket
from incidents.wording import INCIDENT_ACTOR, incident_reason
from routing.services import AssigneePicker
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.selectors import ticket_workload
from tickets.services.deadlines import ESCALATION_DEPARTMENT, ticket_escalate


def incident_timeline_end(incident: Incident) -> datetime | None:
    """The end of the buyer's expected delivery date (local time), or None without one."""
    if incident.expected_delivery_date is None:
        return None
    return timezone.make_aware(datetime.combine(incident.expected_delivery_date + timedelta(days=1), time.min))


def platform_first(incident: Incident, tickets: Sequence[Ticket]) -> list[Ticket]:
    """Those of ``tickets`` the platform decides on before the end of the incident's expected delivery date."""
    end = incident_timeline_end(incident)
    if end is None:
        return []
    return [t for t in tickets if t.platform_due_at is not None and t.platform_due_at < end]


def incident_tickets_flag(incident: Incident, tickets: Sequence[Ticket], *, now: datetime | None = None) -> int:
    """Flag and escalate ``tickets`` (of ``incident``, locked by the caller, tickets before routing rows) that are
    not flagged yet; returns how many were. One supervisor pick per chunk (routing.services.AssigneePicker)."""
    now = now or timezone.now()
    fresh = set(
        IncidentTicket.objects.filter(
            incident_id=incident.pk, ticket_id__in=[t.pk for t in tickets], platform_flagged_at__isnull=True
        ).values_list("ticket_id", flat=True)
    )
    flagging = [t for t in tickets if t.pk in fresh]
    if not flagging:
        return 0
    actor = Actor.system(INCIDENT_ACTOR)
    picker = AssigneePicker(ESCALATION_DEPARTMENT, workload=ticket_workload)
    for ticket in flagging:
        reason, payload = incident_reason(
            "incident_platform_first", title=incident.title, incident=incident.pk, platform_due=ticket.platform_due_at
        )
        ticket_escalate(
            ticket=ticket,
            actor=actor,
            reason=reason,
            reason_payload={"incident": incident.pk, **payload},
            now=now,
            assignees=picker,
        )
    picker.close()
    IncidentTicket.objects.filter(incident_id=incident.pk, ticket_id__in=[t.pk for t in flagging]).update(
        platform_flagged_at=now
    )
    return len(flagging)
