"""平台介入 on Pinduoduo, against the local PDD simulator: 平台处理中 (8) with its evidence deadline, PDD's missing
evidence API, and the ruling (5: the platform refunds what it decided; 9: closed) as the platform's transitions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.connectors.pdd.conftest import arrive_by_push, send_writebacks, transitions
from tests.factories.tickets import staff_actor
from tickets.models import EventType, Refund, RefundStatus
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def taken_over(client, pdd, *, evidence_hours: float = 12):
    case = pdd.create("return_refund")  # ¥159.00 asked
    arrive_by_push(client, pdd, case["id"])
    pdd.platform_intervenes(str(case["id"]), evidence_hours=evidence_hours)
    return case, arrive_by_push(client, pdd, case["id"], "RefundBuyerModifyAgreement")


def test_the_platform_taking_a_request_over_is_its_transition_with_the_evidence_deadline(client, connection, pdd):
    case, ticket = taken_over(client, pdd, evidence_hours=12)

    assert ticket.state == "arbitration" and transitions(ticket) == [("intervene", "platform")]
    deadline = ticket.platform_due_at
    assert deadline is not None and abs(deadline - (timezone.now() + timedelta(hours=12))) < timedelta(minutes=1)
    assert ticket.due_at == deadline - timedelta(minutes=120)


def test_evidence_cannot_be_sent_to_pdd_and_the_staff_are_told_to_use_the_back_office(client, connection, pdd):
    case, ticket = taken_over(client, pdd)

    ticket_act(ticket=ticket, actor=staff_actor("supervisors"), action="submit_evidence", statement="见开箱视频")

    assert send_writebacks() == ["dead"]
    escalation = ticket.events.get(event_type=EventType.ESCALATION)
    assert "商家后台" in escalation.reason  # in the staff's language (zh-hans)


def test_the_ruling_for_the_buyer_refunds_the_amount_pdd_decided(client, connection, pdd):
    case, ticket = taken_over(client, pdd)

    pdd.platform_rules(str(case["id"]), for_buyer=True, refund_fen=8000)
    ticket = arrive_by_push(client, pdd, case["id"], "RefundAgreeAgreement")

    assert ticket.state == "refunded" and ticket.approved_amount == Decimal("80.00")
    assert transitions(ticket)[-2:] == [("uphold_buyer", "platform"), ("complete_refund", "platform")]
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert (paid.amount, paid.status) == (Decimal("80.00"), RefundStatus.SUCCEEDED)


def test_the_ruling_for_the_merchant_closes_the_ticket_without_a_refund(client, connection, pdd):
    case, ticket = taken_over(client, pdd)

    pdd.platform_rules(str(case["id"]), for_buyer=False)
    ticket = arrive_by_push(client, pdd, case["id"], "RefundClosed")

    assert ticket.state == "closed" and transitions(ticket)[-1] == ("uphold_rejection", "platform")
    assert not Refund.objects.filter(ticket_id=ticket.pk).exists()
