"""Closing one affected order's ticket when its incident closes: the way its state says (incidents.paths.CLOSING_PATHS),
through its declared transitions, quietly (the buyer hears the closing message, incidents.messaging), recorded on
its timeline. incidents.messaging runs it for each buyer it sends the closing to; incidents.closing closes the
incident itself."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from incidents.models import Incident, IncidentTicket
from incidents.paths import CLOSING_PATHS
from incidents.reasons import incident_reason
from kefu.core.errors import DomainError
from tickets.actions import action_get
from tickets.actors import Actor
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
