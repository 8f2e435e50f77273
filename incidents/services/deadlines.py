"""Moving the internal deadlines of an incident's open tickets as a whole, never past a platform's deadline.

The tickets' clocks are the engine's (tickets.services.engine.step_apply, tickets.clock): ``due_at`` (what the
sweep acts on), ``step_due_at`` (the step's deadline, for SLA figures; moved only while the ticket is not
escalated, so a breached step stays breached) and ``warn_at``. An extension moves them by ``by`` in one UPDATE per
chunk, and writes one timeline entry per ticket in one INSERT. A ticket of a marketplace's case is held to
``platform_due_at`` less the margin (``KEFU_PLATFORM_DEADLINE_MARGIN_MINUTES``, as ``platform_clock_apply`` does):
its deadline stops there, and it is flagged and escalated (incidents.services.flags), once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.errors import IncidentClosed, IncidentNotRunning
from incidents.locks import incident_lock
from incidents.models import Incident, IncidentStatus, IncidentTicket
from incidents.services.flags import incident_tickets_flag
from incidents.wording import incident_reason
from kefu.core.writes import NewRows, rows_write
from tickets.actors import Actor
from tickets.clock import platform_deadline_margin
from tickets.models import EventType, Ticket, TicketEvent
from tickets.services.engine import event_new, event_published
from tickets.workflows import model_for_kind

EXTEND_CHUNK = 1000


@dataclass
class ExtendResult:
    extended: int = 0
    capped: int = 0
    flagged: int = 0


def incident_deadlines_extend(
    incident: Incident, by: timedelta, actor: Actor | AbstractBaseUser, *, chunk_size: int = EXTEND_CHUNK
) -> ExtendResult:
    """Move the deadlines of ``incident``'s open tickets that have one by ``by`` (positive), ``actor`` on each
    timeline. A chunk of tickets per transaction: the incident locked, then the tickets' rows (``NOWAIT`` is not
    used: a ticket being changed right now is waited for, briefly). Returns how many were moved, how many
    stopped at their platform deadline, and how many of those were newly flagged and escalated.
    """
    if by <= timedelta(0):
        raise ValueError("by must be positive")
    actor = actor if isinstance(actor, Actor) else Actor.staff(actor)  # type: ignore[arg-type]
    if incident.status == IncidentStatus.CLOSED:
        raise IncidentClosed(_("Incident “%(title)s” is closed.") % {"title": incident.title}, field="status")
    if incident.status != IncidentStatus.RUNNING:
        raise IncidentNotRunning(
            _("Incident “%(title)s” has not been started: it has no tickets yet.") % {"title": incident.title},
            field="status",
        )
    ticket_ids = list(
        IncidentTicket.objects.filter(
            incident_id=incident.pk, ticket__closed_at__isnull=True, ticket__due_at__isnull=False
        )
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)
    )
    result = ExtendResult()
    for start in range(0, len(ticket_ids), chunk_size):
        _extend_chunk(incident.pk, ticket_ids[start : start + chunk_size], by, actor, result)
    return result


def _extend_chunk(incident_id: int, ids: list[int], by: timedelta, actor: Actor, result: ExtendResult) -> None:
    margin = platform_deadline_margin()
    now = timezone.now()
    with transaction.atomic():
        incident = incident_lock(incident_id)
        if incident.status != IncidentStatus.RUNNING:
            return
        # The lock order of every incident write: the incident, its affected rows, then the tickets (a buyer's
        # answer, incidents.answers, locks its affected row, then the ticket; the flags below update affected rows).
        list(
            IncidentTicket.objects.select_for_update()
            .filter(incident_id=incident_id, ticket_id__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        tickets = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("shop", "buyer")
            .filter(pk__in=ids, closed_at__isnull=True, due_at__isnull=False)
            .order_by("pk")
        )
        free, capped = [], []
        for ticket in tickets:
            limit = ticket.platform_due_at - margin if ticket.platform_due_at is not None else None
            if limit is not None and ticket.due_at + by > limit:
                capped.append((ticket, max(limit, now)))
            else:
                free.append(ticket)
        if free:
            _move(free, by, now)
        for ticket, limit in capped:
            _hold(ticket, limit, now)
        moved = [ticket for ticket in free] + [ticket for ticket, _limit in capped]
        _record(incident, moved, by, actor, now)
        result.extended += len(free)
        result.capped += len(capped)
        if capped:
            # The escalation needs the ticket as its kind (its steps, its timeline's readers).
            locked = [_as_kind(ticket) for ticket, _limit in capped]
            result.flagged += incident_tickets_flag(incident, locked, now=now)
            for ticket, limit in zip(locked, (limit for _t, limit in capped), strict=True):
                if ticket.due_at is not None and ticket.due_at > limit:  # the escalation's re-check, held too
                    Ticket.objects.filter(pk=ticket.pk).update(due_at=limit)


def _move(tickets: list[Ticket], by: timedelta, now: datetime) -> None:
    """Every clock of ``tickets`` ``by`` later, in one statement (NULL stays NULL)."""
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        due_at=F("due_at") + by,
        step_due_at=Case(When(Q(escalation_level=0), then=F("step_due_at") + by), default=F("step_due_at")),
        warn_at=F("warn_at") + by,
        version=F("version") + 1,
        updated_at=now,
    )
    for ticket in tickets:  # the objects as written, for the timeline and its readers
        ticket.due_at = ticket.due_at + by if ticket.due_at else None
        if ticket.escalation_level == 0 and ticket.step_due_at is not None:
            ticket.step_due_at += by
        ticket.warn_at = ticket.warn_at + by if ticket.warn_at else None
        ticket.version += 1
        ticket.updated_at = now


def _hold(ticket: Ticket, limit: datetime, now: datetime) -> None:
    """The ticket's deadline at ``limit`` (its platform's, less the margin), warned at once."""
    if ticket.due_at is not None and ticket.due_at >= limit:
        return  # already there or beyond (an escalation's re-check): not moved back
    ticket.due_at = limit
    if ticket.escalation_level == 0:
        ticket.step_due_at = limit
    ticket.warn_at = now
    ticket.version += 1
    ticket.updated_at = now
    ticket.save(update_fields=["due_at", "step_due_at", "warn_at", "version", "updated_at"])


def _record(incident: Incident, tickets: list[Ticket], by: timedelta, actor: Actor, now: datetime) -> None:
    """One internal entry per ticket, written in one statement, then published to the timeline's readers."""
    hours = round(by.total_seconds() / 3600, 1)
    events: list[TicketEvent] = []
    for ticket in tickets:
        reason, payload = incident_reason(
            "incident_deadline_extended", title=incident.title, incident=incident.pk, hours=hours, due=ticket.due_at
        )
        events.append(
            event_new(
                ticket=ticket,
                actor=actor,
                event_type=EventType.COMMENT,
                reason=reason,
                public=False,
                payload={"incident": incident.pk, "extended_by_seconds": int(by.total_seconds()), **payload},
                at=now,
            )
        )
    rows_write(NewRows(TicketEvent, events))
    for ticket, event in zip(tickets, events, strict=True):
        event_published(ticket=ticket, event=event)


def _as_kind(ticket: Ticket) -> Ticket:
    """The locked ticket as its kind (its row already locked in this transaction: read again, not waited for)."""
    model = model_for_kind(ticket.kind)
    return model.objects.select_related("shop", "buyer", "assignee").get(pk=ticket.pk)
