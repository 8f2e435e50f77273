"""What the refund tests share: a refund-only return opened or approved for ``SKU-A`` of an order, what its line
has refunded. The fixtures that put the
recording test gateway in place are in conftest.py."""

from __future__ import annotations

from decimal import Decimal

from orders.models import Order, OrderLine
from tests.factories.tickets import buyer_actor, staff_actor
from tickets.models import ReturnTicket
from tickets.services import ticket_act
from tickets.services.opening import return_open
from tickets.types import LineRequest


def open_refund_only(order: Order, quantity: int, amount: Decimal | None = None) -> ReturnTicket:
    return return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", quantity)],
        reason_code="not_received",
        refund_only=True,
        requested_amount=amount,
    )


def approved_refund_only(order: Order, quantity: int, amount: Decimal | None = None) -> ReturnTicket:
    return ticket_act(
        ticket=open_refund_only(order, quantity, amount), actor=staff_actor("operations"), action="approve"
    )


def line_refunded(order: Order) -> Decimal:
    return OrderLine.objects.get(order=order).refunded_amount
