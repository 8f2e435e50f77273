"""Opening tickets and the guards a request must pass: who may open, lines and reasons, the quantities still
returnable, and the return window.

Refund amounts at opening are in test_refunds.py, next to the reservations they must agree with; the inputs a
transition needs (a reason to refuse, a carrier and tracking number to ship) are in test_transition_inputs.py.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kefu.core.errors import ValidationFailed
from orders.models import Order
from tests.factories.orders import OrderLineFactory, ShipmentFactory
from tests.factories.tickets import (
    buyer_actor,
    order_with_line,
    other_buyer_actor,
    system_actor,
    ticket_build,
    ticket_reload,
)
from tickets.errors import (
    InvalidLines,
    InvalidReason,
    NotPermitted,
    OutsideReturnWindow,
    QuantityNotReturnable,
)
from tickets.models import ExchangeTicket, ReturnTicket, Ticket, TicketEvent
from tickets.services import ticket_act
from tickets.services.opening import complaint_open, exchange_open, logistics_open, return_open
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db


def open_return(order: Order, quantity: int, **kwargs: Any) -> ReturnTicket:
    return return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", quantity)],
        reason_code=kwargs.pop("reason_code", "seven_days_no_reason"),
        **kwargs,
    )


def open_exchange(order: Order, quantity: int) -> ExchangeTicket:
    return exchange_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", quantity)],
        reason_code="wrong_size_colour",
        replacement_sku="SKU-A-L",
    )


def test_opening_a_return_routes_it_to_operations_for_48_hours() -> None:
    order = order_with_line(quantity=2, paid_amount=Decimal("100.00"))
    before = timezone.now()

    ticket = open_return(order, 2, description="尺码偏小")

    stored = ticket_reload(ticket)
    assert (stored.state, stored.department, stored.waiting_on) == ("requested", "operations", "merchant")
    assert before <= stored.step_started_at <= timezone.now()
    assert stored.due_at == stored.step_started_at + timedelta(hours=48)
    assert (stored.requested_amount, stored.refund_only, stored.reason.code) == (
        Decimal("100.00"),
        False,
        "seven_days_no_reason",
    )
    assert [(tl.order_line.sku, tl.quantity) for tl in stored.lines.all()] == [("SKU-A", 2)]
    created = TicketEvent.objects.get(ticket=ticket)
    assert (created.event_type, created.to_state, created.actor_kind, created.reason) == (
        "created",
        "requested",
        "buyer",
        "尺码偏小",
    )


def test_a_buyer_cannot_open_a_ticket_on_another_buyers_order() -> None:
    order = order_with_line()
    with pytest.raises(NotPermitted) as refused:
        return_open(
            order=order,
            actor=other_buyer_actor(order),
            lines=[LineRequest("SKU-A", 1)],
            reason_code="quality_problem",
        )
    assert (refused.value.code, refused.value.field) == ("not_permitted", "order")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("lines", "reason_code", "error", "field"),
    [
        ([], "quality_problem", InvalidLines, "lines"),
        ([LineRequest("NOPE", 1)], "quality_problem", InvalidLines, "lines[0].sku"),
        ([LineRequest("SKU-A", 1), LineRequest("SKU-A", 1)], "quality_problem", InvalidLines, "lines[1].sku"),
        ([LineRequest("SKU-A", 0)], "quality_problem", InvalidLines, "lines[0].quantity"),
        ([LineRequest("SKU-A", 1)], "", InvalidReason, "reason"),
        ([LineRequest("SKU-A", 1)], "no_such_reason", InvalidReason, "reason"),
        ([LineRequest("SKU-A", 1)], "out_of_stock", InvalidReason, "reason"),  # a reason for returns only
    ],
    ids=["no lines", "unknown sku", "sku twice", "zero items", "no reason", "unknown reason", "reason of another kind"],
)
def test_an_exchange_request_must_name_lines_and_a_reason_of_its_kind(
    lines: list[LineRequest], reason_code: str, error: type[Exception], field: str
) -> None:
    order = order_with_line()
    with pytest.raises(error) as refused:
        exchange_open(
            order=order, actor=buyer_actor(order), lines=lines, reason_code=reason_code, replacement_sku="SKU-A-L"
        )
    assert refused.value.field == field
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(("severity", "priority"), [(1, 10), (2, 20), (3, 30), (4, 40)])
def test_a_complaint_starts_at_the_priority_of_its_severity(severity: int, priority: int) -> None:
    order = order_with_line()
    ticket = complaint_open(
        order=order, actor=buyer_actor(order), category="service_attitude", description="客服态度差", severity=severity
    )
    stored = ticket_reload(ticket)
    assert (stored.state, stored.priority, stored.department, stored.number[:2]) == (
        "open",
        priority,
        "operations",
        "CP",
    )
    assert stored.due_at == stored.step_started_at + timedelta(hours=2)


@pytest.mark.parametrize(
    ("category", "description", "severity", "field"),
    [("rude", "态度差", 2, "category"), ("delivery", "  ", 2, "description"), ("delivery", "慢", 9, "severity")],
)
def test_a_complaint_needs_a_category_a_description_and_a_severity(
    category: str, description: str, severity: int, field: str
) -> None:
    order = order_with_line()
    with pytest.raises(ValidationFailed) as refused:
        complaint_open(
            order=order, actor=buyer_actor(order), category=category, description=description, severity=severity
        )
    assert refused.value.field == field
    assert not Ticket.objects.exists()


def test_a_logistics_ticket_concerns_the_whole_order_and_one_of_its_shipments() -> None:
    order = order_with_line(quantity=2)
    OrderLineFactory(order=order, sku="SKU-B", quantity=1)
    parcel = ShipmentFactory(order=order)
    with pytest.raises(InvalidLines) as refused:
        logistics_open(order=order, actor=system_actor(), exception_type="stalled", shipment=ShipmentFactory())
    assert refused.value.field == "shipment"

    ticket = logistics_open(order=order, actor=system_actor(), exception_type="stalled", shipment=parcel)

    stored = ticket_reload(ticket)
    assert [(tl.order_line.sku, tl.quantity) for tl in stored.lines.all()] == [("SKU-A", 2), ("SKU-B", 1)]
    assert (stored.state, stored.department, stored.shipment_id, stored.number[:2]) == (
        "reported",
        "logistics",
        parcel.pk,
        "LG",
    )
    assert stored.due_at == stored.step_started_at + timedelta(hours=24)


# -- quantities still returnable --------------------------------------------------------------------------


def test_exactly_the_quantity_of_the_line_is_accepted_and_one_more_refused() -> None:
    order = order_with_line(quantity=3)
    with pytest.raises(QuantityNotReturnable) as refused:
        open_return(order, 4)
    assert (refused.value.code, refused.value.field) == ("quantity_not_returnable", "lines[0].quantity")
    assert open_return(order, 3).lines.get().quantity == 3


def test_a_second_ticket_may_take_only_the_remaining_quantity() -> None:
    order = order_with_line(quantity=3)
    open_return(order, 2)

    with pytest.raises(QuantityNotReturnable) as refused:
        open_exchange(order, 2)
    assert "Only 1 item(s)" in refused.value.message
    assert open_exchange(order, 1).lines.get().quantity == 1
    with pytest.raises(QuantityNotReturnable):
        open_return(order, 1)


@pytest.mark.parametrize(("state", "released"), [("cancelled", True), ("closed", True), ("refunded", False)])
def test_a_ticket_that_ended_without_the_goods_gives_its_quantity_back(state: str, released: bool) -> None:
    order = order_with_line(quantity=2)
    ticket_build("return", state, order=order)

    if released:
        assert open_return(order, 2).lines.get().quantity == 2
    else:
        with pytest.raises(QuantityNotReturnable):
            open_return(order, 1)


def test_cancelling_through_the_service_releases_the_quantity() -> None:
    order = order_with_line(quantity=1)
    first = open_return(order, 1)
    with pytest.raises(QuantityNotReturnable):
        open_return(order, 1)

    ticket_act(ticket=first, actor=buyer_actor(order), action="cancel")

    assert open_return(order, 1).state == "requested"


def test_complaints_and_logistics_tickets_hold_no_quantity() -> None:
    order = order_with_line(quantity=1)
    complaint_open(order=order, actor=buyer_actor(order), category="delivery", description="送货慢")
    logistics_open(order=order, actor=buyer_actor(order), exception_type="delayed")
    assert open_return(order, 1).lines.get().quantity == 1


# -- the return window: whole local days (Asia/Shanghai) after delivery ------------------------------------


def local(day_offset: int, at: time) -> datetime:
    """A moment ``day_offset`` days from today's local date (Asia/Shanghai), at the local time ``at``."""
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=day_offset), at))


@pytest.mark.parametrize(
    ("window_days", "delivered", "allowed"),
    [
        (7, (-7, time(0, 0, 1)), True),  # delivered first thing 7 days ago: today is the last day
        (7, (-7, time(23, 59, 59)), True),
        (7, (-8, time(23, 59, 59)), False),  # the day after the last day, however late the delivery
        (15, (-15, time(0, 0, 1)), True),
        (15, (-16, time(23, 59, 59)), False),
    ],
    ids=["last day (early delivery)", "last day (late delivery)", "day after", "15 days: last day", "15 days: after"],
)
@pytest.mark.parametrize("kind", ["return", "exchange", "refund only"])
def test_the_return_window(kind: str, window_days: int, delivered: tuple[int, time], allowed: bool) -> None:
    delivered_at = local(*delivered)
    order = order_with_line(quantity=1, delivered_at=delivered_at, shop__return_window_days=window_days)

    def request() -> Ticket:
        if kind == "exchange":
            return open_exchange(order, 1)
        return open_return(order, 1, refund_only=kind == "refund only")

    if allowed:
        assert request().state == "requested"
        return
    with pytest.raises(OutsideReturnWindow) as refused:
        request()
    last_day = timezone.localdate(delivered_at) + timedelta(days=window_days)
    assert (refused.value.code, refused.value.field) == ("outside_return_window", "order")
    assert f"{window_days}-day return window" in refused.value.message
    assert f"ended on {last_day:%Y-%m-%d}" in refused.value.message
    assert not Ticket.objects.exists()


def test_before_delivery_only_a_refund_is_possible() -> None:
    order = order_with_line(quantity=1, undelivered=True)
    with pytest.raises(OutsideReturnWindow, match="not been delivered"):
        open_return(order, 1)
    with pytest.raises(OutsideReturnWindow, match="not been delivered"):
        open_exchange(order, 1)

    ticket = open_return(order, 1, refund_only=True, reason_code="not_shipped")

    assert (ticket.state, ticket.refund_only) == ("requested", True)
