"""Opening tickets and the guards a request must pass: who may open, the return window, the quantities still
returnable, and the inputs a transition needs (a reason to refuse, carrier and tracking number to ship).

Refund amounts at opening are in test_refunds.py, next to the reservations they must agree with.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kefu.errors import Conflict
from orders.models import Order, Shipment
from tests.factories.orders import ShipmentFactory
from tests.factories.tickets import (
    actor_for,
    buyer_actor,
    order_with_line,
    other_buyer_actor,
    staff_actor,
    ticket_build,
    ticket_reload,
)
from tickets.errors import (
    FieldRequired,
    InvalidLines,
    InvalidReason,
    NotPermitted,
    OutsideReturnWindow,
    QuantityNotReturnable,
    TransitionNotAllowed,
)
from tickets.models import ExchangeTicket, ReturnTicket, Ticket, TicketEvent
from tickets.services.complaints import complaint_dismiss
from tickets.services.engine import ticket_transition
from tickets.services.exchanges import exchange_ship_back, exchange_ship_replacement
from tickets.services.logistics import logistics_mark_reshipped
from tickets.services.opening import complaint_open, exchange_open, logistics_open, return_open
from tickets.services.returns import return_cancel, return_ship_back
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

    return_cancel(ticket=first, actor=buyer_actor(order))

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


# -- a refusal needs a reason -----------------------------------------------------------------------------

NEEDS_A_REASON = [
    ("return", "requested", "reject", "operations"),
    ("return", "received", "fail_inspection", "warehouse"),
    ("return", "arbitration", "uphold_rejection", "supervisors"),
    ("exchange", "requested", "reject", "operations"),
    ("exchange", "received", "fail_inspection", "warehouse"),
    ("exchange", "arbitration", "uphold_rejection", "supervisors"),
    ("complaint", "investigating", "dismiss", "supervisors"),
]


@pytest.mark.parametrize(("kind", "state", "transition", "role"), NEEDS_A_REASON)
@pytest.mark.parametrize("reason", ["", "   ", "\n\t"], ids=["empty", "spaces", "whitespace"])
def test_a_refusal_without_a_reason_is_refused(kind: str, state: str, transition: str, role: str, reason: str) -> None:
    ticket = ticket_build(kind, state)
    with pytest.raises(FieldRequired) as refused:
        ticket_transition(ticket=ticket, actor=staff_actor(role), transition=transition, reason=reason)
    assert (refused.value.code, refused.value.field) == ("field_required", "reason")
    stored = ticket_reload(ticket)
    assert (stored.state, stored.version) == (state, ticket.version)
    assert not TicketEvent.objects.filter(ticket=ticket, event_type="transition").exists()


@pytest.mark.parametrize(("kind", "state", "transition", "role"), NEEDS_A_REASON)
def test_the_reason_of_a_refusal_is_on_the_timeline(kind: str, state: str, transition: str, role: str) -> None:
    ticket = ticket_build(kind, state)
    ticket_transition(ticket=ticket, actor=staff_actor(role), transition=transition, reason="照片显示人为损坏")
    assert TicketEvent.objects.get(ticket=ticket, transition=transition).reason == "照片显示人为损坏"


def test_the_dismiss_service_passes_the_reason() -> None:
    ticket = ticket_build("complaint", "escalated")
    with pytest.raises(FieldRequired):
        complaint_dismiss(ticket=ticket, actor=staff_actor("supervisors"), reason=" ")
    assert complaint_dismiss(ticket=ticket, actor=staff_actor("supervisors"), reason="重复投诉").state == "closed"


# -- a parcel needs a carrier and a tracking number ---------------------------------------------------------

SHIPPING = [
    pytest.param("return", "awaiting_return", return_ship_back, "buyer", "return", "return_shipment", id="return"),
    pytest.param(
        "exchange", "awaiting_return", exchange_ship_back, "buyer", "return", "return_shipment", id="exchange back"
    ),
    pytest.param(
        "exchange",
        "replacement_pending",
        exchange_ship_replacement,
        "warehouse",
        "replacement",
        "replacement_shipment",
        id="replacement",
    ),
    pytest.param(
        "logistics", "reshipping", logistics_mark_reshipped, "warehouse", "outbound", "reship_shipment", id="reship"
    ),
]


@pytest.mark.parametrize(("kind", "state", "service", "role", "direction", "link"), SHIPPING)
@pytest.mark.parametrize(
    ("carrier", "tracking_number", "field"),
    [
        ("", "YT100", "carrier"),
        ("  ", "YT100", "carrier"),
        ("YTO", "", "tracking_number"),
        ("YTO", " ", "tracking_number"),
    ],
    ids=["no carrier", "blank carrier", "no tracking", "blank tracking"],
)
def test_a_parcel_without_carrier_or_tracking_number_is_refused(
    kind: str,
    state: str,
    service: Any,
    role: str,
    direction: str,
    link: str,
    carrier: str,
    tracking_number: str,
    field: str,
) -> None:
    ticket = ticket_build(kind, state)
    with pytest.raises(FieldRequired) as refused:
        service(ticket=ticket, actor=actor_for(role, ticket), carrier=carrier, tracking_number=tracking_number)
    assert (refused.value.code, refused.value.field) == ("field_required", field)
    assert not Shipment.objects.exists()
    stored = ticket_reload(ticket)
    assert (stored.state, stored.version, getattr(stored, f"{link}_id")) == (state, ticket.version, None)


@pytest.mark.parametrize(("kind", "state", "service", "role", "direction", "link"), SHIPPING)
def test_a_parcel_is_recorded_with_the_transition(
    kind: str, state: str, service: Any, role: str, direction: str, link: str
) -> None:
    ticket = ticket_build(kind, state)
    service(ticket=ticket, actor=actor_for(role, ticket), carrier=" YTO ", tracking_number=" YT1234567890 ")

    shipment = Shipment.objects.get()
    assert (shipment.order_id, shipment.direction, shipment.carrier, shipment.tracking_number) == (
        ticket.order_id,
        direction,
        "YTO",
        "YT1234567890",
    )
    assert getattr(ticket_reload(ticket), f"{link}_id") == shipment.pk
    event = TicketEvent.objects.get(ticket=ticket, event_type="transition")
    assert (event.payload["carrier"], event.payload["tracking_number"]) == ("YTO", "YT1234567890")


@pytest.mark.parametrize(
    ("state", "who", "error"),
    [("requested", "buyer", TransitionNotAllowed), ("awaiting_return", "other_buyer", NotPermitted)],
    ids=["wrong state", "someone else's ticket"],
)
def test_no_parcel_is_recorded_when_the_transition_is_refused(state: str, who: str, error: type[Exception]) -> None:
    ticket = ticket_build("return", state)
    with pytest.raises(error):
        return_ship_back(ticket=ticket, actor=actor_for(who, ticket), carrier="YTO", tracking_number="YT1")
    assert not Shipment.objects.exists()
    assert ticket_reload(ticket).state == state


def test_a_tracking_number_of_another_order_is_refused_and_nothing_changes() -> None:
    ShipmentFactory(carrier="YTO", tracking_number="YT1")
    ticket = ticket_build("return", "awaiting_return")
    with pytest.raises(Conflict) as refused:
        return_ship_back(ticket=ticket, actor=buyer_actor(ticket), carrier="YTO", tracking_number="YT1")
    assert (refused.value.code, refused.value.field) == ("tracking_number_in_use", "tracking_number")
    stored = ticket_reload(ticket)
    assert (stored.state, stored.return_shipment_id) == ("awaiting_return", None)
