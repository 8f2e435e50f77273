"""Money: nothing refunds more than was paid for the lines minus what was already refunded, at opening, at
reservation and in the database; the gateway pays once per refund, retries, and escalates when it keeps failing.

Refunds are reserved on entering ``refund_pending`` and paid by ``execute_refund_task`` after commit. These
tests run that task eagerly (``CELERY_TASK_ALWAYS_EAGER`` and the on-commit callbacks executed), or call
``refund_execute`` directly where the number of attempts is the point. The payment provider is replaced by
the gateways of tests/tickets/services/gateways.py, behind the same interface.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from pytest_django import Settings

from orders.models import Order, OrderLine
from tests.factories.tickets import buyer_actor, order_with_line, staff_actor, ticket_build, ticket_reload
from tests.tickets.services.gateways import FLAKY, RECORDING, FlakyGateway, RecordingGateway, paying_gateway
from tickets.errors import FieldRequired, InvalidAmount, RefundExceedsPaid
from tickets.models import Priority, Refund, ReturnTicket, TicketEvent
from tickets.payments import GatewayError
from tickets.services import ticket_act
from tickets.services.opening import return_open
from tickets.services.refunds import MAX_REFUND_ATTEMPTS, refund_execute
from tickets.types import LineRequest
from tickets.wording import event_reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording_gateway(settings: Settings) -> type[RecordingGateway]:
    paying_gateway(settings, RECORDING)
    RecordingGateway.reset()
    return RecordingGateway


@pytest.fixture
def eager_refunds(settings: Settings, recording_gateway: type[RecordingGateway]) -> type[RecordingGateway]:
    """``execute_refund_task`` runs in-process when its on-commit callback runs."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return recording_gateway


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


# -- paying through the gateway ---------------------------------------------------------------------------


def test_an_approved_refund_is_paid_after_commit_and_the_ticket_refunded(
    eager_refunds: type[RecordingGateway], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    order = order_with_line(quantity=2, paid_amount=Decimal("100.00"))
    with django_capture_on_commit_callbacks(execute=True):
        ticket = approved_refund_only(order, 1)

    stored = ticket_reload(ticket)
    refund = Refund.objects.get(ticket=ticket)
    assert (stored.state, stored.waiting_on, stored.due_at) == ("refunded", "nobody", None)
    assert stored.closed_at is not None
    assert (refund.status, refund.attempts, refund.amount) == ("succeeded", 1, Decimal("50.00"))
    assert [call.idempotency_key for call in eager_refunds.calls] == [refund.idempotency_key]
    assert eager_refunds.calls[0].amount == Decimal("50.00")
    assert refund.reference == f"PAY-1-{refund.idempotency_key}"
    assert line_refunded(order) == Decimal("50.00")
    paid = TicketEvent.objects.get(ticket=ticket, transition="complete_refund")
    assert (paid.actor_kind, paid.from_state, paid.to_state) == ("system", "refund_pending", "refunded")


def test_paying_twice_pays_once(recording_gateway: type[RecordingGateway]) -> None:
    ticket = approved_refund_only(order_with_line(), 1)
    refund = Refund.objects.get(ticket=ticket)

    refund_execute(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)

    assert len(recording_gateway.calls) == 1
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("succeeded", 1)
    assert TicketEvent.objects.filter(ticket=ticket, transition="complete_refund").count() == 1
    assert ticket_reload(ticket).state == "refunded"


def test_a_failing_gateway_is_retried_with_the_same_key_then_pays(
    settings: Settings, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    paying_gateway(settings, FLAKY)
    FlakyGateway.reset(failures=2)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = approved_refund_only(order_with_line(), 1)

    refund = Refund.objects.get(ticket=ticket)
    assert (refund.status, refund.attempts, refund.last_error) == ("succeeded", 3, "gateway timeout (call 2)")
    assert {call.idempotency_key for call in FlakyGateway.calls} == {refund.idempotency_key}
    assert ticket_reload(ticket).state == "refunded"
    assert not TicketEvent.objects.filter(ticket=ticket, event_type="escalation").exists()


def test_a_refund_failing_every_attempt_is_failed_and_the_ticket_escalated(settings: Settings) -> None:
    paying_gateway(settings, FLAKY)
    FlakyGateway.reset(failures=MAX_REFUND_ATTEMPTS)
    ticket = approved_refund_only(order_with_line(), 1)
    refund = Refund.objects.get(ticket=ticket)

    for attempt in range(1, MAX_REFUND_ATTEMPTS):
        with pytest.raises(GatewayError):
            refund_execute(refund_id=refund.pk)
        refund.refresh_from_db()
        assert (refund.status, refund.attempts) == ("requested", attempt)
        assert ticket_reload(ticket).priority == Priority.NORMAL
    with pytest.raises(GatewayError):
        refund_execute(refund_id=refund.pk)

    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("failed", MAX_REFUND_ATTEMPTS)
    assert refund.last_error == f"gateway timeout (call {MAX_REFUND_ATTEMPTS})"
    stored = ticket_reload(ticket)
    assert (stored.state, stored.priority) == ("refund_pending", Priority.URGENT)
    escalation = TicketEvent.objects.get(ticket=ticket, event_type="escalation")
    assert escalation.public is False
    assert escalation.payload["reason_code"] == "refund_failed"  # read in each reader's language
    with translation.override("en"):
        assert f"failed {MAX_REFUND_ATTEMPTS} times: gateway timeout" in event_reason(escalation)
    with translation.override("zh-hans"):
        assert f"已失败 {MAX_REFUND_ATTEMPTS} 次" in event_reason(escalation)


def test_the_task_gives_up_after_the_last_attempt_and_escalates(
    settings: Settings, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    paying_gateway(settings, FLAKY)
    FlakyGateway.reset(failures=1000)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = approved_refund_only(order_with_line(), 1)

    assert len(FlakyGateway.calls) == MAX_REFUND_ATTEMPTS
    refund = Refund.objects.get(ticket=ticket)
    assert (refund.status, refund.attempts) == ("failed", MAX_REFUND_ATTEMPTS)
    assert ticket_reload(ticket).priority == Priority.URGENT
    assert TicketEvent.objects.filter(ticket=ticket, event_type="escalation").count() == 1


# -- refunds opened by other tickets ----------------------------------------------------------------------


def test_out_of_stock_turns_an_exchange_into_a_paid_refund(
    eager_refunds: type[RecordingGateway], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Delivered a month ago: the exchange took its time, and the refund the merchant owes ignores the window.
    order = order_with_line(quantity=2, paid_amount=Decimal("100.00"), delivered_at=timezone.now() - timedelta(days=30))
    exchange = ticket_build("exchange", "replacement_pending", order=order, goods_received=True)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_act(ticket=exchange, actor=staff_actor("warehouse"), action="convert_to_refund", reason="M 码缺货")

    closed = ticket_reload(exchange)
    assert (closed.state, closed.waiting_on) == ("closed", "nobody")
    assert closed.closed_at is not None
    assert TicketEvent.objects.get(ticket=exchange, transition="convert_to_refund").reason == "M 码缺货"
    refund_ticket = ReturnTicket.objects.get(origin=exchange)
    assert refund_ticket.refund_only and refund_ticket.goods_received
    assert refund_ticket.reason.code == "out_of_stock"
    assert [(tl.order_line.sku, tl.quantity) for tl in refund_ticket.lines.all()] == [("SKU-A", 2)]
    assert refund_ticket.state == "refunded"
    refund = Refund.objects.get(ticket=refund_ticket)
    assert (refund.status, refund.amount) == ("succeeded", Decimal("100.00"))
    assert line_refunded(order) == refund.amount == refund_ticket.approved_amount
    assert [call.amount for call in eager_refunds.calls] == [Decimal("100.00")]
    assert list(
        TicketEvent.objects.filter(ticket=refund_ticket, event_type__in=["created", "transition"]).values_list(
            "to_state", flat=True
        )
    ) == ["requested", "refund_pending", "refunded"]


def test_converting_an_exchange_needs_a_reason_and_opens_nothing_without_one() -> None:
    exchange = ticket_build("exchange", "replacement_pending", goods_received=True)
    with pytest.raises(FieldRequired) as refused:
        ticket_act(ticket=exchange, actor=staff_actor("operations"), action="convert_to_refund", reason=" ")
    assert refused.value.field == "reason"
    assert ticket_reload(exchange).state == "replacement_pending"
    assert not ReturnTicket.objects.exists()


def test_a_logistics_refund_is_paid_through_a_linked_return_which_resolves_it(
    eager_refunds: type[RecordingGateway], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # The parcel never arrived, so the order was never delivered: a refund-only return needs no delivery.
    order = order_with_line(quantity=1, paid_amount=Decimal("88.00"), undelivered=True)
    lost = ticket_build("logistics", "investigating", order=order)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_act(ticket=lost, actor=staff_actor("logistics"), action="refund", reason="快递丢件")

    refund_ticket = ReturnTicket.objects.get(origin=lost)
    assert (refund_ticket.refund_only, refund_ticket.reason.code, refund_ticket.state) == (
        True,
        "not_received",
        "refunded",
    )
    assert Refund.objects.get(ticket=refund_ticket).amount == line_refunded(order) == Decimal("88.00")
    resolved = ticket_reload(lost)
    assert (resolved.state, resolved.outcome, resolved.waiting_on) == ("resolved", "refunded", "buyer")
    assert resolved.due_at == resolved.step_started_at + timedelta(hours=72)
    transitions = TicketEvent.objects.filter(ticket=lost, event_type="transition")
    assert [(e.transition, e.to_state, e.actor_kind) for e in transitions] == [
        ("refund", "refunding", "staff"),
        ("resolve", "resolved", "system"),
    ]


def test_a_logistics_refund_stays_refunding_until_the_money_is_paid(recording_gateway: type[RecordingGateway]) -> None:
    lost = ticket_build("logistics", "investigating")
    ticket_act(ticket=lost, actor=staff_actor("operations"), action="refund")

    assert ticket_reload(lost).state == "refunding"
    refund_ticket = ReturnTicket.objects.get(origin=lost)
    assert refund_ticket.state == "refund_pending"

    refund_execute(refund_id=Refund.objects.get(ticket=refund_ticket).pk)

    assert ticket_reload(lost).state == "resolved"
