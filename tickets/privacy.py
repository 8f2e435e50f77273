"""Who sees a buyer's contact details in full (issue 12, "Evidence and personal data").

The rule, in one place:

- staff holding the permission ``tickets.view_buyer_contact`` (the supervisors' group; superusers) see the
  buyer's phone and email on a ticket's page;
- the department at a step that must reach the buyer sees them while the ticket is at that step: the warehouse
  shipping an exchange's replacement (``replacement_pending``) gives the carrier the buyer's phone;
- everyone else, and every list and log, sees them masked (kefu.core.privacy: ``138****5678``).

kefu keeps no postal addresses (the storefront's order sync carries none): the replacement's address stays in
the storefront's own order system, so there is none to show or mask here.
"""

from __future__ import annotations

from typing import Any

from kefu.core.privacy import mask_email, mask_phone
from kefu.core.vocabulary import ExchangeState, Kind
from tickets.actors import Actor
from tickets.models import Ticket

CONTACT_PERMISSION = "tickets.view_buyer_contact"
# (kind, state) steps whose department needs to reach the buyer while the ticket is there.
CONTACT_STEPS = frozenset({(Kind.EXCHANGE.value, ExchangeState.REPLACEMENT_PENDING.value)})


def buyer_contact_visible(*, user: Any, actor: Actor, ticket: Ticket) -> bool:
    """Whether ``user`` (acting as ``actor``) sees the buyer's contact details on ``ticket`` in full."""
    if user.has_perm(CONTACT_PERMISSION):
        return True
    return (ticket.kind, ticket.state) in CONTACT_STEPS and ticket.department in actor.departments


def buyer_contact(*, user: Any, actor: Actor, ticket: Ticket) -> dict[str, str]:
    """The buyer's phone and email as ``user`` may see them on the ticket's page."""
    buyer = ticket.buyer
    if buyer_contact_visible(user=user, actor=actor, ticket=ticket):
        return {"phone": buyer.phone, "email": buyer.email}
    return {"phone": mask_phone(buyer.phone), "email": mask_email(buyer.email)}
