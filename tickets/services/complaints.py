"""Use cases of a complaint (投诉). Each runs one transition through the engine."""

from __future__ import annotations

from tickets.actors import Actor
from tickets.models import ComplaintTicket
from tickets.services.engine import ticket_transition


def complaint_acknowledge(*, ticket: ComplaintTicket, actor: Actor, reason: str = "") -> ComplaintTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="acknowledge", reason=reason)


def complaint_investigate(*, ticket: ComplaintTicket, actor: Actor, reason: str = "") -> ComplaintTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="investigate", reason=reason)


def complaint_propose_resolution(*, ticket: ComplaintTicket, actor: Actor, resolution: str) -> ComplaintTicket:
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition="propose_resolution",
        params={"resolution": resolution},
        reason=resolution,
    )


def complaint_accept_resolution(*, ticket: ComplaintTicket, actor: Actor) -> ComplaintTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="accept_resolution")


def complaint_reopen(*, ticket: ComplaintTicket, actor: Actor, reason: str) -> ComplaintTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="reopen", reason=reason)


def complaint_escalate(*, ticket: ComplaintTicket, actor: Actor, reason: str = "") -> ComplaintTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="escalate", reason=reason)


def complaint_dismiss(*, ticket: ComplaintTicket, actor: Actor, reason: str) -> ComplaintTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="dismiss", reason=reason)


def complaint_cancel(*, ticket: ComplaintTicket, actor: Actor, reason: str = "") -> ComplaintTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="cancel", reason=reason)
