"""Money: nothing refunds more than was paid for the lines minus what was already refunded, at opening, at
reservation and in the database.

The paying side (after commit, once, retried, escalated) is in test_refund_payment.py.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from orders.models import Order, OrderLine
from tests.factories.tickets import buyer_actor, order_with_line, staff_actor, ticket_build, ticket_reload
from tests.tickets.services.gateways import RecordingGateway
from tests.tickets.services.refunding import approved_refund_only, line_refunded, open_refund_only
from tickets.errors import InvalidAmount, RefundExceedsPaid
from tickets.models import Refund, ReturnTicket, TicketEvent
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db

# -- the cap when opening ---------------------------------------------------------------------------------


def test_the_whole_paid_amount_can_be_asked_and_one_fen_more_cannot() -> None:
    order = order_with_line(quantity=2, paid_amount=Decimal("100.00"))
    with pytest.raises(RefundExceedsPaid) as refused:
        open_refund_only(order, 2, Decimal("100.01"))
    assert (refused.value.code, refused.value.field) == ("refund_exceeds_paid", "requested_amount")
    assert "¥100.00" in refused.value.message
    assert not ReturnTicket.objects.exists()

    assert open_refund_only(order, 2, Decimal("100.00")).requested_amount == Decimal("100.00")


def test_a_second_ticket_on_the_same_line_may_ask_only_what_is_left() -> None:
    # 1 of 2 items of a line paid 99.99 is worth 50.00 (the unit with the extra fen), the other 49.99.
    order = order_with_line(quantity=2, paid_amount=Decimal("99.99"))
    first = approved_refund_only(order, 1)
    assert first.requested_amount == Decimal("50.00")
    assert line_refunded(order) == Decimal("50.00")

    with pytest.raises(RefundExceedsPaid):
        open_refund_only(order, 1, Decimal("50.00"))
    second = open_refund_only(order, 1)

    assert second.requested_amount == Decimal("49.99")
    ticket_act(ticket=second, actor=staff_actor("operations"), action="approve")
    assert line_refunded(order) == Decimal("99.99")


@pytest.mark.parametrize(
    ("quantity", "share"),
    # ¥100.00 over 3 units by largest remainder: 33.34 + 33.33 + 33.33 (the dearer unit first).
    [(1, Decimal("33.34")), (2, Decimal("66.67")), (3, Decimal("100.00"))],
)
def test_a_part_of_a_line_is_worth_its_pro_rata_share(quantity: int, share: Decimal) -> None:
    order = order_with_line(quantity=3, paid_amount=Decimal("100.00"))
    ticket = open_refund_only(order, quantity)
    assert ticket.requested_amount == share
    with pytest.raises(RefundExceedsPaid):
        open_refund_only(order_with_line(quantity=3, paid_amount=Decimal("100.00")), quantity, share + Decimal("0.01"))


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00"), Decimal("10.005")])
def test_an_amount_must_be_positive_and_in_fen(amount: Decimal) -> None:
    with pytest.raises(InvalidAmount) as refused:
        open_refund_only(order_with_line(), 1, amount)
    assert refused.value.field == "requested_amount"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Decimal("100.01"), "refund_exceeds_paid"),
        (Decimal("50.005"), "invalid_amount"),
        (Decimal("0"), "invalid_amount"),
    ],
)
def test_a_modified_request_stays_within_what_is_left_and_in_fen(amount: Decimal, code: str) -> None:
    ticket = ticket_build("return", "rejected", order=order_with_line(quantity=2, paid_amount=Decimal("100.00")))
    with pytest.raises((RefundExceedsPaid, InvalidAmount)) as refused:
        ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="modify", requested_amount=amount)
    assert (refused.value.code, refused.value.field) == (code, "requested_amount")
    assert ticket_reload(ticket).state == "rejected"

    modified = ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="modify", requested_amount=Decimal("100.00"))
    assert (modified.state, modified.requested_amount) == ("requested", Decimal("100.00"))


# -- the cap when the refund is reserved -----------------------------------------------------------------


@pytest.fixture
def line_with_30_refunded() -> Order:
    """A line of 2 items paid 100.00, 30.00 of it already refunded by an earlier, finished refund-only ticket."""
    order = order_with_line(quantity=2, paid_amount=Decimal("100.00"))
    approved_refund_only(order, 2, Decimal("30.00"))
    assert line_refunded(order) == Decimal("30.00")
    return order


def inspected(order: Order, requested: Decimal) -> ReturnTicket:
    """A return of the whole line, back in the warehouse (built directly: the first ticket holds the items)."""
    return ticket_build("return", "received", order=order, requested_amount=requested, goods_received=True)


def assert_nothing_reserved(ticket: ReturnTicket, order: Order) -> None:
    stored = ticket_reload(ticket)
    assert (stored.state, stored.version, stored.approved_amount) == ("received", ticket.version, None)
    assert not Refund.objects.filter(ticket=ticket).exists()
    assert not TicketEvent.objects.filter(ticket=ticket).exclude(event_type="created").exists()
    assert line_refunded(order) == Decimal("30.00")


def test_reservation_takes_exactly_what_is_left(line_with_30_refunded: Order) -> None:
    ticket = inspected(line_with_30_refunded, Decimal("70.00"))
    ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection")
    assert Refund.objects.get(ticket=ticket).amount == Decimal("70.00")
    assert line_refunded(line_with_30_refunded) == Decimal("100.00")


def test_reservation_refuses_one_fen_more_and_writes_nothing(line_with_30_refunded: Order) -> None:
    ticket = inspected(line_with_30_refunded, Decimal("70.01"))
    with pytest.raises(RefundExceedsPaid) as refused:
        ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection")
    assert refused.value.code == "refund_exceeds_paid"
    assert ticket.number in refused.value.message and "¥70.00" in refused.value.message
    assert_nothing_reserved(ticket, line_with_30_refunded)


@pytest.mark.parametrize(
    ("amount", "error", "code"),
    [
        (Decimal("70.01"), RefundExceedsPaid, "refund_exceeds_paid"),
        (Decimal("100.00"), InvalidAmount, "invalid_amount"),  # a partial refund is below the request
        (Decimal("0.00"), InvalidAmount, "invalid_amount"),
    ],
)
def test_a_partial_refund_is_refused_above_what_is_left(
    line_with_30_refunded: Order, amount: Decimal, error: type[Exception], code: str
) -> None:
    ticket = inspected(line_with_30_refunded, Decimal("100.00"))
    with pytest.raises(error) as refused:
        ticket_act(
            ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection_partly", amount=amount, reason="划痕"
        )
    assert (refused.value.code, refused.value.field) == (code, "amount")
    assert_nothing_reserved(ticket, line_with_30_refunded)


def test_a_partial_refund_of_exactly_what_is_left_is_reserved(line_with_30_refunded: Order) -> None:
    ticket = inspected(line_with_30_refunded, Decimal("100.00"))
    ticket_act(
        ticket=ticket,
        actor=staff_actor("warehouse"),
        action="pass_inspection_partly",
        amount=Decimal("70.00"),
        reason="划痕",
    )
    assert ticket_reload(ticket).approved_amount == Refund.objects.get(ticket=ticket).amount == Decimal("70.00")
    assert TicketEvent.objects.get(ticket=ticket, transition="pass_inspection_partly").reason == "划痕"


# -- the database's own check -----------------------------------------------------------------------------


def test_the_database_refuses_a_line_refunded_above_its_paid_amount() -> None:
    order = order_with_line(quantity=1, paid_amount=Decimal("100.00"))
    lines = OrderLine.objects.filter(order=order)

    lines.update(refunded_amount=F("paid_amount"))
    assert line_refunded(order) == Decimal("100.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        lines.update(refunded_amount=Decimal("100.01"))

    assert line_refunded(order) == Decimal("100.00")


def test_two_tickets_on_a_line_paid_an_odd_fen_are_both_refunded_in_full(
    eager_refunds: type[RecordingGateway], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """Issue 12: 1 of 2 items paid ¥100.01 was worth ¥50.01 for each ticket; the second could then never be
    refunded (¥50.00 left on the line) and the sweep only escalated it."""
    order = order_with_line(quantity=2, paid_amount=Decimal("100.01"))
    first = open_refund_only(order, 1)
    second = open_refund_only(order, 1)
    assert (first.requested_amount, second.requested_amount) == (Decimal("50.01"), Decimal("50.00"))
    with django_capture_on_commit_callbacks(execute=True):
        ticket_act(ticket=first, actor=staff_actor("operations"), action="approve")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_act(ticket=ticket_reload(second), actor=staff_actor("operations"), action="approve")

    assert [ticket_reload(t).state for t in (first, second)] == ["refunded", "refunded"]
    assert sorted(call.amount for call in eager_refunds.calls) == [Decimal("50.00"), Decimal("50.01")]
    assert line_refunded(order) == Decimal("100.01")
