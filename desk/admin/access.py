"""Who is looking at the tickets admin, and which tickets they may see and act on.

Supervisors (and superusers) see every ticket; other staff see the tickets their departments must act on
now, the same scope as the staff API (``tickets.selectors.staff_tickets``), so a ticket of another department is
missing from their list, their search results and their bulk actions, and its page redirects away. Staff
without a department see nothing. What they may *do* to a ticket they see is the state machine's decision,
given their actor (``tickets.actions.available_actions``).

Django permissions decide which admin pages open at all (groups made by ``accounts``' migration):
``tickets.view_ticket`` to see the queue, ``tickets.change_ticket`` to act on tickets (transitions, claim,
comments). The ticket's own form is never editable: every change goes through the services.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from tickets.actors import Actor
from tickets.models import Ticket
from tickets.selectors import staff_tickets

ACT_PERMISSION = "tickets.change_ticket"


def request_actor(request: HttpRequest) -> Actor:
    """The logged-in staff user as an actor, computed once per request (two queries for the departments)."""
    actor = getattr(request, "_kefu_actor", None)
    if actor is None:
        user = request.user
        if not isinstance(user, User):  # the admin lets in only logged-in staff
            raise PermissionDenied
        actor = Actor.staff(user)
        request._kefu_actor = actor  # type: ignore[attr-defined]
    return actor


def may_act(request: HttpRequest) -> bool:
    """Whether the user may act on the tickets they see (transitions, claim, comments, bulk actions)."""
    return request.user.is_active and request.user.is_staff and request.user.has_perm(ACT_PERMISSION)


def may_supervise(request: HttpRequest) -> bool:
    """Whether the user may reassign tickets and act for every department."""
    return may_act(request) and request_actor(request).is_supervisor


def visible_tickets(request: HttpRequest):
    """The tickets this user may see in the admin (every ticket for supervisors)."""
    return staff_tickets(actor=request_actor(request))


def ticket_hidden_from(request: HttpRequest, object_id: str) -> Ticket | None:
    """The ticket ``object_id`` if it exists but this user may not see it (for a clear message), else None."""
    try:
        pk = int(object_id)
    except (TypeError, ValueError):
        return None
    if visible_tickets(request).filter(pk=pk).exists():
        return None
    return Ticket.objects.filter(pk=pk).only("pk", "number", "department").first()
