"""Transitions that put a parcel on the road: the shipment is created inside the transition's transaction."""

from __future__ import annotations

from typing import TypeVar

from django.utils.translation import gettext as _

from orders.models import ShipmentDirection
from orders.shipments import shipment_create
from tickets.actors import Actor
from tickets.errors import require
from tickets.models import Ticket
from tickets.services.engine import ticket_transition

T = TypeVar("T", bound=Ticket)


def ticket_ship(*, ticket: T, actor: Actor, transition: str, direction: str, carrier: str, tracking_number: str) -> T:
    """Run a shipping transition (``ship_back``, ``ship_replacement``, ``mark_reshipped``) with its parcel.

    Carrier and tracking number are required; the shipment is created only after the state and the actor
    were checked, and rolled back with the transition if anything fails.
    """
    carrier = require(carrier, "carrier", _("The carrier"))
    tracking_number = require(tracking_number, "tracking_number", _("The tracking number"))
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition=transition,
        prepare=lambda t: {
            "shipment": shipment_create(
                order=t.order, direction=direction, carrier=carrier, tracking_number=tracking_number
            )
        },
        payload={"carrier": carrier, "tracking_number": tracking_number},
    )


RETURN = ShipmentDirection.RETURN
REPLACEMENT = ShipmentDirection.REPLACEMENT
OUTBOUND = ShipmentDirection.OUTBOUND
