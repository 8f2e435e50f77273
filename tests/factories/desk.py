"""Staff on the desk and tickets opened as a buyer would: the helpers of the routing, assignment, deadline and
SLA tests (tests/routing, tests/tickets, tests/dashboard). Their frozen clock is the ``clock`` fixture
(tests/conftest.py), starting at :data:`T0`.

Departments operations / warehouse / logistics / supervisors come from migration routing/0002; backup pools
and rule targets a test needs are made with :func:`department`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser

from orders.models import Order, Shop
from routing.models import Department, StaffMember
from tests.factories.tickets import order_with_line, user_create
from tickets.actors import Actor
from tickets.models import EventType, Ticket, TicketEvent
from tickets.services import complaint_open, exchange_open, logistics_open, return_open
from tickets.services.deadlines import SWEEP_ACTOR
from tickets.types import LineRequest

# A Monday morning in the shops' time zone; every clock-driven test starts here.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def department(code: str, **fields: Any) -> Department:
    """A department (the default four exist already), created or updated with ``fields``."""
    dept, _ = Department.objects.update_or_create(code=code, defaults={"name": code.title(), **fields})
    return dept


def staff_member(
    *departments: str, username: str | None = None, on_duty: bool = True, cap: int = 30, active: bool = True
) -> AbstractBaseUser:
    """A staff user who works in ``departments`` (codes), on duty or not, holding at most ``cap`` tickets."""
    user = user_create(username, is_active=active)
    member = StaffMember.objects.create(user=user, on_duty=on_duty, max_open_tickets=cap)
    member.departments.set(Department.objects.filter(code__in=departments))
    assert member.departments.count() == len(departments), f"unknown department in {departments}"
    return user


def staff(user: AbstractBaseUser) -> Actor:
    """The user as an actor, with the departments the desk knows them in (as the admin and API build it)."""
    return Actor.staff(user)


def open_return(order: Order | None = None, *, reason_code: str = "quality_problem", **fields: Any) -> Ticket:
    order = order or order_with_line()
    return return_open(
        order=order,
        actor=Actor.for_buyer(order.buyer),
        lines=[LineRequest("SKU-A", 1)],
        reason_code=reason_code,
        **fields,
    )


def open_exchange(order: Order | None = None, *, reason_code: str = "wrong_size_colour") -> Ticket:
    order = order or order_with_line()
    return exchange_open(
        order=order,
        actor=Actor.for_buyer(order.buyer),
        lines=[LineRequest("SKU-A", 1)],
        reason_code=reason_code,
        replacement_sku="SKU-A-L",
    )


def open_complaint(order: Order | None = None, *, category: str = "service_attitude", **fields: Any) -> Ticket:
    order = order or order_with_line()
    return complaint_open(
        order=order, actor=Actor.for_buyer(order.buyer), category=category, description="客服态度很差", **fields
    )


def open_logistics(order: Order | None = None, *, exception_type: str = "lost") -> Ticket:
    order = order or order_with_line()
    return logistics_open(order=order, actor=Actor.for_buyer(order.buyer), exception_type=exception_type)


def order_for(
    *,
    channel: str = "tmall",
    tier: str = "regular",
    paid: Decimal = Decimal("100.00"),
    shop_code: str | None = None,
    shop: Shop | None = None,
) -> Order:
    """A delivered order with one line (SKU-A, two items, ``paid`` in total) of a new buyer, in ``shop`` or a
    shop of ``channel`` (the one with ``shop_code`` if it exists)."""
    from tests.factories.orders import BuyerFactory, ShopFactory

    shop = shop or ShopFactory(channel=channel, **({"code": shop_code} if shop_code else {}))
    buyer = BuyerFactory(shop=shop, tier=tier)
    return order_with_line(paid_amount=paid, shop=shop, buyer=buyer)


def sweep_events(ticket: Ticket) -> list[TicketEvent]:
    """What the deadline sweep wrote on the ticket's timeline (transitions, escalations, warnings)."""
    return list(TicketEvent.objects.filter(ticket_id=ticket.pk, actor_name=SWEEP_ACTOR).order_by("created_at", "pk"))


def assignment_events(ticket: Ticket) -> list[TicketEvent]:
    return list(
        TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.ASSIGNMENT).order_by("created_at", "pk")
    )


def reload(ticket: Ticket) -> Ticket:
    from tickets.workflows import model_for_kind

    return model_for_kind(ticket.kind).objects.get(pk=ticket.pk)
