"""Closing an incident: what is left open is closed through each ticket's declared transitions, with the closing
message sent to the buyers at the incident's rate.

``incident_close`` marks the incident closed (who, when, the closing message) and hands the rest to the telling
(incidents.messaging): each of its runs takes the next buyers within the rate, closes each one's ticket with
``affected_close`` and sends the closing message, in one transaction per batch. The state changes therefore reach
the buyers at the same controlled rate as the messages, never all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.errors import IncidentClosed, IncidentNotRunning
from incidents.locks import incident_lock
from incidents.models import Incident, IncidentStatus, IncidentTicket
from incidents.paths import CLOSING_PATHS
from incidents.reasons import incident_reason
from incidents.scheduling import incident_tell_schedule
from kefu.core.errors import DomainError, ValidationFailed
from tickets.actions import action_get
from tickets.actors import Actor
from tickets.errors import NotPermitted
from tickets.models import Ticket
from tickets.selectors import ticket_get
from tickets.services import ticket_act
from tickets.services.timeline import ticket_note_record

CLOSING_ACTOR = "incident"


def closing_actor(incident: Incident) -> Actor:
    """Who closes the tickets: the supervisor who closed the incident (their roles are checked by each transition)."""
    if incident.closed_by is not None:
        return Actor.staff(incident.closed_by)
    return Actor.system(CLOSING_ACTOR)


def _messages(closing_message: Mapping[str, Any] | str) -> dict[str, str]:
    if isinstance(closing_message, str):
        closing_message = {settings.LANGUAGE_CODE: closing_message}
    texts = {str(code): str(text).strip() for code, text in closing_message.items() if str(text or "").strip()}
    if not texts:
        raise ValidationFailed(_("Write the closing message in at least one language."), field="closing_message")
    return texts


def incident_close(
    *, incident: Incident, actor: Actor, closing_message: Mapping[str, Any] | str, now: datetime | None = None
) -> Incident:
    """Close a running incident (a supervisor): status closed, the closing message kept ({language: text}, or one
    text in the site's language), and the telling scheduled to close each ticket left and tell its buyer.

    Raises ``NotPermitted`` (not a supervisor), ``ValidationFailed`` (no closing text), ``IncidentNotRunning`` (a
    draft), ``IncidentClosed`` (closed already); then nothing is written. Buyers' answers are refused from now on
    (incidents.answers).
    """
    if not actor.is_supervisor:
        raise NotPermitted(_("Only supervisors close an incident."))
    texts = _messages(closing_message)
    now = now or timezone.now()
    with transaction.atomic():
        locked = incident_lock(incident.pk)
        if locked.status != IncidentStatus.RUNNING:
            error = IncidentClosed if locked.status == IncidentStatus.CLOSED else IncidentNotRunning
            raise error(
                _("Incident “%(incident)s” is %(status)s: only a running incident can be closed.")
                % {"incident": locked.title, "status": locked.get_status_display()},
                field="status",
            )
        locked.status = IncidentStatus.CLOSED
        locked.closed_at = now
        locked.closed_by = actor.user
        locked.closing_message = texts
        locked.save(update_fields=["status", "closed_at", "closed_by", "closing_message"])
        incident_tell_schedule(locked)
    return locked


def _reason_inputs(ticket: Ticket, action: str, text: str) -> dict[str, Any]:
    declared = action_get(ticket.kind, action)
    return {"reason": text} if declared is not None and "reason" in declared.act.needs_by_name else {}


def affected_close(*, incident: Incident, affected: IncidentTicket, actor: Actor) -> Ticket:
    """Close one affected order's ticket the way its state says (incidents.paths.CLOSING_PATHS), recorded on its
    timeline; a ticket with money or goods under way, or already at its end, gets a note instead. A transition the
    ticket refuses (changed meanwhile, the actor's role) stops its path with a note for the staff: the incident
    closes anyway. Caller's transaction (incidents.messaging runs it under the row locks); returns the ticket."""
    ticket = ticket_get(pk=affected.ticket_id)
    text, payload = incident_reason("incident_closed", incident=incident.title, messages=incident.closing_message)
    payload["quiet"] = True  # the buyer gets the closing message (incidents.messaging), not one per step
    path = CLOSING_PATHS.get((ticket.kind, ticket.state))
    if path is None:
        code = "incident_closed" if ticket.is_final else "incident_close_left"
        note, note_payload = incident_reason(code, incident=incident.title, messages=incident.closing_message)
        ticket_note_record(ticket=ticket, actor=actor, reason=note, reason_payload=note_payload)
        return ticket
    for action in path:
        try:
            with transaction.atomic():
                ticket = ticket_act(
                    ticket=ticket,
                    actor=actor,
                    action=action,
                    check_version=False,
                    reason_payload=payload,
                    **_reason_inputs(ticket, action, text),
                )
        except DomainError as exc:
            note, note_payload = incident_reason(
                "incident_close_refused", incident=incident.title, kind=ticket.kind, action=action, error=str(exc)
            )
            ticket_note_record(ticket=ticket, actor=actor, reason=note, reason_payload=note_payload)
            break
    return ticket
