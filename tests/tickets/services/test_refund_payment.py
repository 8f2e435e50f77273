"""Money out: the gateway pays once per refund, retries with the same key, and escalates when it keeps failing;
an exchange out of stock and a lost parcel are refunded through a linked return.

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
from django.utils import timezone, translation
from pytest_django import Settings

from tests.factories.tickets import order_with_line, staff_actor, ticket_build, ticket_reload
from tests.tickets.services.gateways import FLAKY, FlakyGateway, RecordingGateway, paying_gateway
from tests.tickets.services.refunding import (
    approved_refund_only,
    line_refunded,
)
from tickets.errors import FieldRequired
from tickets.models import Priority, Refund, ReturnTicket, TicketEvent
from tickets.payments import GatewayError
from tickets.services import ticket_act
from tickets.services.refunds import MAX_REFUND_ATTEMPTS, refund_execute
from tickets.wording import event_reason

pytestmark = pytest.mark.django_db

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
