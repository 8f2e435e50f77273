"""Who works a ticket: a staff member claims it, a supervisor reassigns it, staff or the system assign it.

Routing (routing.services) picks an assignee when a step starts; these are the people's use cases. Each
locks the ticket's rows the way every change does (tickets.locks.ticket_lock), bumps ``version``
and writes an ``assignment`` entry on the timeline.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, ValidationFailed
from routing.services import staff_member_departments
from tickets.actors import Actor, ActorKind
from tickets.errors import NotPermitted
from tickets.locks import ticket_lock
from tickets.models import EventType, Ticket
from tickets.services.engine import event_record


def ticket_assign(*, ticket: Ticket, actor: Actor, assignee: User | None) -> Ticket:
    """Give the ticket to a staff member (or take it away with None), recorded on the timeline.

    Only staff and the system assign (who among staff: ``ticket_claim``, supervisors' ``ticket_reassign``).
    """
    if actor.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
        raise NotPermitted(_("%(actor)s may not assign tickets.") % {"actor": actor.name})
    with transaction.atomic():
        locked = ticket_lock(ticket=ticket)
        previous = locked.assignee
        locked.assignee = assignee
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["assignee", "version", "updated_at"])
        event_record(
            ticket=locked,
            actor=actor,
            event_type=EventType.ASSIGNMENT,
            public=False,
            payload={
                "assignee": assignee.get_username() if assignee else None,
                "previous": previous.get_username() if previous else None,
            },
        )
    return locked


def ticket_claim(*, ticket: Ticket, actor: Actor) -> Ticket:
    """A staff member takes an unassigned ticket of their department's queue."""
    if actor.kind != ActorKind.STAFF or actor.user is None:
        raise NotPermitted(_("Only staff can claim tickets."))
    if not actor.is_supervisor and ticket.department not in actor.departments:
        raise NotPermitted(
            _("Ticket %(number)s is in the %(department)s queue, not yours.")
            % {"number": ticket.number, "department": ticket.department}
        )
    with transaction.atomic():
        # The same rows (common and kind's) as every change locks, in the same statement: a claim and a
        # transition on one ticket queue on one lock instead of each holding half of the other's.
        current = ticket_lock(ticket=ticket, check_version=False)
        if current.closed_at is not None:
            raise Conflict(
                _("Ticket %(number)s is closed; there is nothing to claim.") % {"number": ticket.number},
                code="ticket_closed",
            )
        if current.assignee_id is not None and current.assignee_id != actor.user.pk:
            raise Conflict(
                _("Ticket %(number)s was already claimed by %(assignee)s.")
                % {"number": ticket.number, "assignee": current.assignee},
                code="already_claimed",
            )
        return ticket_assign(ticket=ticket, actor=actor, assignee=actor.user)


def ticket_reassign(*, ticket: Ticket, actor: Actor, assignee: User | None) -> Ticket:
    """A supervisor gives the ticket to someone (a member of its department), or back to the queue."""
    if not actor.is_supervisor:
        raise NotPermitted(_("Only supervisors can reassign tickets."))
    if assignee is not None:
        member_of = staff_member_departments(assignee)
        if ticket.department and ticket.department not in member_of and "supervisors" not in member_of:
            raise ValidationFailed(
                _("%(user)s is not a member of the %(department)s department.")
                % {"user": assignee.get_username(), "department": ticket.department},
                code="not_a_member",
                field="assignee",
            )
    return ticket_assign(ticket=ticket, actor=actor, assignee=assignee)
