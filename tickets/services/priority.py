"""A ticket's priority set by staff (a macro's field change: replies.services.macro_apply).

Locks the ticket the way every change does (tickets.locks.ticket_lock), bumps ``version`` and notes the change
on the timeline as an internal entry whose reason is a code (``priority_changed``, tickets.wording) so every
reader gets it in their own language. Buyers are not told (an internal entry sends no buyer message).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import ValidationFailed
from kefu.core.vocabulary import Priority
from tickets.actors import Actor, ActorKind
from tickets.errors import NotPermitted
from tickets.locks import ticket_lock
from tickets.models import EventType, Ticket
from tickets.services.engine import event_record
from tickets.wording import system_reason


def ticket_priority_set(*, ticket: Ticket, actor: Actor, priority: int, check_version: bool = True) -> Ticket:
    """Give the ticket ``priority`` (a ``Priority`` value); unchanged priority writes nothing.

    ``check_version=False`` acts on the ticket as it is now (a macro that has just run a transition on it in the
    same transaction, which bumped the version).
    """
    if actor.kind not in (ActorKind.STAFF, ActorKind.SYSTEM):
        raise NotPermitted(_("%(actor)s may not change a ticket's priority.") % {"actor": actor.name})
    if priority not in Priority.values:
        raise ValidationFailed(_("%(value)s is not a priority.") % {"value": priority}, field="priority")
    with transaction.atomic():
        locked = ticket_lock(ticket=ticket, check_version=check_version)
        previous = locked.priority
        if previous == priority:
            return locked
        locked.priority = priority
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["priority", "version", "updated_at"])
        text, payload = system_reason("priority_changed", previous=previous, priority=priority)
        event_record(
            ticket=locked, actor=actor, event_type=EventType.COMMENT, reason=text, public=False, payload=payload
        )
    return locked
