"""A refund's lifecycle: requested → submitted → succeeded / failed, never succeeded without a confirmation that
names who paid it; a manual refund waits for finance, a provider's refund for its answer (submit, query or
notification, applied once), and one nobody confirms in time escalates once.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from pytest_django import Settings

from kefu.core.errors import Conflict, NotFound, ValidationFailed
from tests.factories.tickets import (
    buyer_actor,
    finance_actor,
    order_with_line,
    staff_actor,
    supervisor_actor,
    ticket_reload,
)
from tests.tickets.services.gateways import ASYNC, AsyncGateway, paying_gateway
from tickets.actors import Actor
from tickets.errors import FieldRequired, NotPermitted
from tickets.models import EventType, PayoutChannel, Priority, Refund, RefundStatus, ReturnTicket, TicketEvent
from tickets.payments import PayoutAnswer, PayoutStatus
from tickets.services import ticket_act
from tickets.services.opening import return_open
from tickets.services.payouts import refunds_payout_record, refunds_to_pay
from tickets.services.refund_sweeps import refunds_escalate_overdue, refunds_poll_submitted
from tickets.services.refunds import refund_execute, refund_poll, refund_retry, refund_settle
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db


def approved(amount: Decimal = Decimal("100.00")) -> ReturnTicket:
    order = order_with_line(quantity=1, paid_amount=amount)
    ticket = return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", 1)],
        reason_code="not_received",
        refund_only=True,
    )
    return ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")


def submitted_manual() -> tuple[ReturnTicket, Refund]:
    ticket = approved()
    refund = refund_execute(refund_id=Refund.objects.get(ticket=ticket).pk)
    return ticket, refund


# -- manual payouts: the finance queue -------------------------------------------------------------------


def test_a_manual_refund_waits_in_the_finance_queue_and_the_ticket_waits_with_it() -> None:
    ticket, refund = submitted_manual()

    assert (refund.status, refund.payer, refund.confirmed_at) == (RefundStatus.SUBMITTED, "manual", None)
    assert list(refunds_to_pay()) == [refund]
    assert ticket_reload(ticket).state == "refund_pending"
    assert refund_execute(refund_id=refund.pk).status == RefundStatus.SUBMITTED  # no second submission
    assert refund_poll(refund_id=refund.pk).status == RefundStatus.SUBMITTED  # only a clerk confirms it


def test_finance_records_a_bulk_payout_and_every_ticket_is_refunded_once() -> None:
    (first, one), (second, two) = submitted_manual(), submitted_manual()
    clerk = finance_actor()
    paid_at = timezone.now() - timedelta(hours=1)

    settled = refunds_payout_record(
        refund_ids=[one.pk, two.pk],
        channel=PayoutChannel.BANK_TRANSFER,
        reference="ICBC-2026-0001",
        paid_at=paid_at,
        actor=clerk,
    )

    assert [r.status for r in settled] == [RefundStatus.SUCCEEDED] * 2
    for ticket, refund in ((first, one), (second, two)):
        refund.refresh_from_db()
        assert (refund.payer, refund.payout_channel, refund.reference) == ("manual", "bank_transfer", "ICBC-2026-0001")
        assert (refund.paid_at, refund.confirmed_by_id) == (paid_at, clerk.user.pk)
        assert refund.confirmed_at is not None
        assert ticket_reload(ticket).state == "refunded"
        assert TicketEvent.objects.filter(ticket=ticket, transition="complete_refund").count() == 1
    assert list(refunds_to_pay()) == []
    with pytest.raises(Conflict) as again:  # recording it twice is refused, naming the refund
        refunds_payout_record(
            refund_ids=[one.pk], channel=PayoutChannel.CASH, reference="", paid_at=paid_at, actor=clerk
        )
    assert one.idempotency_key in again.value.message


def test_a_bulk_payout_with_one_refund_not_payable_records_none() -> None:
    (_, waiting), (_, other) = submitted_manual(), submitted_manual()
    refunds_payout_record(
        refund_ids=[other.pk], channel=PayoutChannel.CASH, reference="", paid_at=timezone.now(), actor=finance_actor()
    )

    with pytest.raises(Conflict):
        refunds_payout_record(
            refund_ids=[waiting.pk, other.pk],
            channel=PayoutChannel.WECHAT,
            reference="WX-1",
            paid_at=timezone.now(),
            actor=finance_actor(),
        )
    assert Refund.objects.get(pk=waiting.pk).status == RefundStatus.SUBMITTED


@pytest.mark.parametrize("actor", [lambda: staff_actor("operations"), supervisor_actor])
def test_only_finance_records_a_payout(actor) -> None:
    _, refund = submitted_manual()
    with pytest.raises(NotPermitted):
        refunds_payout_record(
            refund_ids=[refund.pk], channel=PayoutChannel.CASH, reference="", paid_at=timezone.now(), actor=actor()
        )
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.SUBMITTED


@pytest.mark.parametrize(
    ("channel", "reference", "hours", "field"),
    [
        ("", "X", 1, "channel"),
        ("paypal", "X", 1, "channel"),
        ("bank_transfer", " ", 1, "reference"),
        ("cash", "", -2, "paid_at"),
    ],
)
def test_a_payout_record_names_what_is_wrong(channel: str, reference: str, hours: int, field: str) -> None:
    _, refund = submitted_manual()
    with pytest.raises(FieldRequired) as refused:
        refunds_payout_record(
            refund_ids=[refund.pk],
            channel=channel,
            reference=reference,
            paid_at=timezone.now() - timedelta(hours=hours),
            actor=finance_actor(),
        )
    assert refused.value.field == field


def test_the_database_refuses_a_succeeded_refund_without_payer_or_confirmation() -> None:
    _, refund = submitted_manual()
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.SUCCEEDED, payer="", confirmed_at=None)
    with pytest.raises(ValidationFailed):
        refund_settle(
            idempotency_key=refund.idempotency_key,
            answer=PayoutAnswer(PayoutStatus.SUCCEEDED, payer=""),
            actor=Actor.system(),
        )


# -- providers that answer later ------------------------------------------------------------------------


@pytest.fixture
def async_gateway(settings: Settings) -> type[AsyncGateway]:
    paying_gateway(settings, ASYNC)
    AsyncGateway.reset()
    return AsyncGateway


def test_a_provider_refund_is_submitted_then_settled_by_the_poll(async_gateway: type[AsyncGateway]) -> None:
    ticket = approved()
    refund = refund_execute(refund_id=Refund.objects.get(ticket=ticket).pk)
    assert (refund.status, refund.payer, refund.reference) == ("submitted", "alipay", f"ASYNC-{refund.idempotency_key}")

    assert refunds_poll_submitted() == 0  # still processing: nothing written
    async_gateway.outcome = PayoutStatus.SUCCEEDED
    assert refunds_poll_submitted() == 1
    assert refunds_poll_submitted() == 0

    refund.refresh_from_db()
    assert (refund.status, refund.payer) == ("succeeded", "alipay")
    assert ticket_reload(ticket).state == "refunded"
    assert len(async_gateway.calls) == 1  # submitted once, queried until it answered


def test_a_duplicated_notification_changes_nothing_and_writes_no_second_event(
    async_gateway: type[AsyncGateway],
) -> None:
    ticket = approved()
    refund = refund_execute(refund_id=Refund.objects.get(ticket=ticket).pk)
    notice = PayoutAnswer(PayoutStatus.SUCCEEDED, payer="alipay", reference="2026120722001", paid_at=timezone.now())
    gateway = Actor.system("payment gateway")

    refund_settle(idempotency_key=refund.idempotency_key, answer=notice, actor=gateway)
    events = TicketEvent.objects.filter(ticket=ticket).count()
    again = refund_settle(idempotency_key=refund.idempotency_key, answer=notice, actor=gateway)
    late = refund_settle(
        idempotency_key=refund.idempotency_key,
        answer=PayoutAnswer(PayoutStatus.SUBMITTED, payer="alipay"),
        actor=gateway,
    )

    assert (again.status, late.status, again.reference) == ("succeeded", "succeeded", "2026120722001")
    assert TicketEvent.objects.filter(ticket=ticket).count() == events
    with pytest.raises(NotFound):
        refund_settle(idempotency_key="NO-SUCH-KEY", answer=notice, actor=gateway)


def test_a_refused_refund_fails_escalates_and_can_be_retried(async_gateway: type[AsyncGateway]) -> None:
    ticket = approved()
    refund = refund_execute(refund_id=Refund.objects.get(ticket=ticket).pk)
    async_gateway.reset(outcome=PayoutStatus.FAILED, message="交易已关闭，无法退款")

    assert refund_poll(refund_id=refund.pk).status == RefundStatus.FAILED
    refund.refresh_from_db()
    assert refund.message == "交易已关闭，无法退款"
    stored = ticket_reload(ticket)
    assert (stored.state, stored.priority) == ("refund_pending", Priority.URGENT)
    assert TicketEvent.objects.filter(ticket=ticket, event_type=EventType.ESCALATION).count() == 1

    refund_retry(refund=refund, actor=staff_actor("operations"))
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REQUESTED


# -- ageing ----------------------------------------------------------------------------------------------


def test_an_unconfirmed_payout_escalates_once_past_the_deadline(settings: Settings) -> None:
    settings.KEFU_REFUND_PAYOUT_HOURS = 48
    ticket, refund = submitted_manual()
    now = timezone.now()

    assert refunds_escalate_overdue(now=now + timedelta(hours=47)) == 0
    assert refunds_escalate_overdue(now=now + timedelta(hours=49)) == 1
    assert refunds_escalate_overdue(now=now + timedelta(hours=80)) == 0  # once

    stored = ticket_reload(ticket)
    assert (stored.priority, stored.department, stored.sla_breached) == (Priority.URGENT, "supervisors", True)
    escalation = TicketEvent.objects.get(ticket=ticket, event_type=EventType.ESCALATION)
    assert escalation.payload["reason_code"] == "refund_unconfirmed"
    assert refund.idempotency_key in escalation.reason
