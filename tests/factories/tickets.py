"""Tickets built directly in any state, and the actors who act on them.

``ticket_build`` writes a ticket of a kind straight into the database in the state a test needs (the
protected ``state`` field may be set once, in the constructor), with its lines, its step (department,
waiting on, clock) and a ``created`` timeline entry in that state, so the timeline replays to it. Tests of
opening itself call ``return_open`` and friends instead.

``actor_for(role, ticket)`` gives the typical actor of a role: the ticket's buyer, another buyer of the same
shop, a staff member of one department, a supervisor, the system timer, or an integration.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import count
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from orders.models import Order, OrderLine, Shipment, ShipmentDirection
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShipmentFactory
from tickets.actors import Actor
from tickets.models import (
    ComplaintTicket,
    EventType,
    ExchangeTicket,
    LogisticsTicket,
    ReturnTicket,
    Ticket,
    TicketLine,
)
from tickets.services.engine import event_record, step_apply
from tickets.services.opening import ticket_number

MODELS: dict[str, type[Ticket]] = {
    "return": ReturnTicket,
    "exchange": ExchangeTicket,
    "complaint": ComplaintTicket,
    "logistics": LogisticsTicket,
}

# What each kind needs besides the shared fields (the return's amount is computed from its lines).
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "return": {},
    "exchange": {"replacement_sku": "SKU-ALT-M", "replacement_name": "同款 M 码"},
    "complaint": {"category": "product_quality", "description": "质量很差"},
    "logistics": {"exception_type": "lost"},
}

_seq = count(1)


def order_with_line(*, quantity: int = 2, paid_amount: Decimal = Decimal("100.00"), **order_fields: Any) -> Order:
    """A delivered order (inside the return window unless told otherwise) with one line."""
    order = OrderFactory(**order_fields)
    unit_price = (paid_amount / quantity).quantize(Decimal("0.01"))
    OrderLineFactory(order=order, quantity=quantity, unit_price=unit_price, paid_amount=paid_amount, sku="SKU-A")
    return order


def ticket_build(
    kind: str,
    state: str | None = None,
    *,
    order: Order | None = None,
    lines: Sequence[tuple[OrderLine, int]] | None = None,
    **fields: Any,
) -> Ticket:
    """A ticket of ``kind`` stored in ``state`` (default: the kind's first state).

    ``lines`` default to every line of the order with its whole quantity. ``fields`` set anything else
    (``refund_only``, ``goods_received``, ``requested_amount``, ``reopen_count``, ``created_at``, …).
    Department, waiting on and the clock are those of the state's step, started now.
    """
    model = MODELS[kind]
    order = order or order_with_line()
    if lines is None:
        lines = [(line, line.quantity) for line in order.lines.order_by("pk")]
    now = timezone.now()
    values: dict[str, Any] = {**KIND_DEFAULTS[kind], "created_at": now, "updated_at": now, **fields}
    if kind == "return" and "requested_amount" not in values:
        values["requested_amount"] = sum(
            (TicketLine(order_line=line, quantity=qty).paid_share(line) for line, qty in lines), Decimal("0.00")
        )
    ticket = model(
        kind=kind,
        state=state or model.INITIAL_STATE,
        shop_id=order.shop_id,
        order=order,
        buyer_id=order.buyer_id,
        **values,
    )
    step_apply(ticket, now=now)
    ticket.save()
    ticket.number = ticket_number(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number)
    TicketLine.objects.bulk_create([TicketLine(ticket_id=ticket.pk, order_line=line, quantity=q) for line, q in lines])
    event_record(
        ticket=ticket,
        actor=Actor.system("test setup"),
        event_type=EventType.CREATED,
        to_state=ticket.state,
        payload={"built_by": "tests.factories.tickets"},
        at=now,
    )
    return ticket


def ticket_reload(ticket: Ticket) -> Ticket:
    """A fresh copy of the ticket, as its kind, from the database."""
    return type(ticket).objects.get(pk=ticket.pk)


# -- actors --------------------------------------------------------------------------------------------


def user_create(username: str | None = None, **fields: Any) -> AbstractBaseUser:
    name = username or f"staff{next(_seq)}"
    return get_user_model().objects.create_user(username=name, password=None, **fields)


def staff_actor(department: str) -> Actor:
    """A member of one department (``operations``, ``warehouse``, ``logistics`` or ``supervisors``)."""
    return Actor.staff(user_create(f"{department}-{next(_seq)}"), departments=frozenset({department}))


def supervisor_actor() -> Actor:
    return staff_actor("supervisors")


def finance_actor() -> Actor:
    """A member of the finance group (tickets.pay_refund): no department, no ticket queue."""
    from django.contrib.auth.models import Group

    from accounts.groups import FINANCE_GROUP, groups_ensure

    if not Group.objects.filter(name=FINANCE_GROUP).exists():
        groups_ensure()
    user = user_create(f"finance-{next(_seq)}", is_staff=True)
    user.groups.add(Group.objects.get(name=FINANCE_GROUP))  # type: ignore[attr-defined]
    return Actor.staff(get_user_model().objects.get(pk=user.pk))  # fresh: no permission cache


def buyer_actor(ticket_or_order: Ticket | Order) -> Actor:
    """The buyer who owns the ticket (or the order)."""
    return Actor.for_buyer(ticket_or_order.buyer)


def other_buyer_actor(ticket_or_order: Ticket | Order) -> Actor:
    """A buyer of the same shop who does not own the ticket."""
    return Actor.for_buyer(BuyerFactory(shop=ticket_or_order.shop))


def system_actor() -> Actor:
    return Actor.system("sla sweep")


def integration_actor(name: str = "warehouse-wms") -> Actor:
    return Actor.integration(name)


# Every kind of actor a role matrix tries. "other_buyer" is a buyer, acting on a ticket that is not theirs.
ACTOR_ROLES = (
    "buyer",
    "other_buyer",
    "operations",
    "warehouse",
    "logistics",
    "supervisors",
    "system",
    "integration",
    "platform",
)


def actor_for(role: str, ticket: Ticket) -> Actor:
    if role == "buyer":
        return buyer_actor(ticket)
    if role == "other_buyer":
        return other_buyer_actor(ticket)
    if role in ("operations", "warehouse", "logistics", "supervisors"):
        return staff_actor(role)
    if role == "system":
        return system_actor()
    if role == "integration":
        return integration_actor()
    if role == "platform":
        return Actor.platform("taobao")
    raise ValueError(f"unknown role {role!r}")


# -- what a transition needs -----------------------------------------------------------------------------

SHIPPING = {
    "ship_back": ShipmentDirection.RETURN,
    "ship_replacement": ShipmentDirection.REPLACEMENT,
    "mark_reshipped": ShipmentDirection.OUTBOUND,
}


def transition_inputs(ticket: Ticket, transition: str) -> tuple[str, dict[str, Any]]:
    """A reason and the params ``ticket_transition`` needs to run ``transition`` on ``ticket``."""
    params: dict[str, Any] = {}
    if transition in SHIPPING:
        shipment: Shipment = ShipmentFactory(order=ticket.order, direction=SHIPPING[transition], carrier="YTO")
        params["shipment"] = shipment
    elif transition == "pass_inspection_partly":
        params["amount"] = (ticket.requested_amount / 2).quantize(Decimal("0.01"))
    elif transition == "counter_offer":
        params.update(offer="退 60 元，商品不用退回", offer_amount=Decimal("60.00"))
    elif transition == "submit_evidence":
        params["statement"] = "商品签收时完好，见开箱视频"
    elif transition == "compensate":
        params["amount"] = Decimal("30.00")
    elif transition == "propose_resolution":
        params["resolution"] = "退还运费并补偿 20 元优惠券"
    elif transition == "investigate" and ticket.kind == "logistics":
        params["carrier_claim_number"] = "SF-CLAIM-0001"
    return "测试原因: 见图片", params
