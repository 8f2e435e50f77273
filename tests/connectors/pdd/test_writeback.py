"""The Pinduoduo connector against the local simulator (tests/simulators/pdd.py): staff decisions written back.

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.commands import Command, CommandName, ErrorKind, PlatformError
from connectors.models import ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms.pdd import PddConnector
from connectors.services.writeback import writeback_send
from tests.connectors.pdd.conftest import arrive_by_push, send_writebacks, ticket_of, transitions
from tests.factories.tickets import staff_actor
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def test_approving_a_return_in_kefu_agrees_it_on_pdd_with_the_shops_return_address(client, connection, pdd):
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert pdd.detail(str(case["id"]))["after_sales_status"] == 7
    api, request = pdd.writes[-1]
    assert api == "pdd.refund.returngoods.agree" and request["return_address_id"] == "8001"
    assert (request["after_sales_id"], request["order_sn"]) == (case["id"], case["order_sn"])
    # PDD's own report of that change afterwards does not run the approval a second time.
    ticket = arrive_by_push(client, pdd, case["id"], "RefundAgreeAgreement")
    assert [name for name, _actor in transitions(ticket)] == ["approve"]


def test_without_an_address_on_the_connection_the_shops_default_return_address_is_used(client, connection, pdd):
    ShopConnection.objects.filter(pk=connection.pk).update(return_address_id="")
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert pdd.calls[-2:] == ["pdd.refund.address.list.get", "pdd.refund.returngoods.agree"]
    assert pdd.writes[-1][1]["return_address_id"] == "8002"  # the one marked is_default


def test_a_refund_only_approved_in_kefu_is_refunded_by_pdd_and_settled_in_kefu(client, connection, pdd):
    case = pdd.create("refund_only")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert ticket.state == "refund_pending"
    assert send_writebacks() == ["sent"]
    assert pdd.writes[-1][0] == "pdd.refund.agree"
    pdd.advance(timedelta(minutes=5))  # PDD pays out the agreed refund (4 → 10)
    ticket = arrive_by_push(client, pdd, case["id"], "RefundAgreeAgreement")

    assert ticket.state == "refunded"
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert paid.status == RefundStatus.SUCCEEDED
    assert paid.reference == f"pdd:{pdd.case_id(str(case['id']))}"


def test_rejecting_in_kefu_hands_the_ticket_back_because_pdd_has_no_refuse_api(client, connection, pdd):
    case = pdd.create("refund_only")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="已发货，请先拒收")

    assert send_writebacks() == ["dead"]
    assert pdd.calls == ["pdd.refund.information.get"]  # nothing was sent to PDD
    ticket = ticket_of(pdd, case["id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "商家后台" in escalation.reason


def test_a_rate_limited_write_back_is_retried_later_and_then_goes_through(client, connection, pdd):
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    pdd.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and row.attempts == 1 and "rate_limited: 70031" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert writeback_send(writeback_id=row.pk) == "skipped"

    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert pdd.detail(str(case["id"]))["after_sales_status"] == 7
    assert pdd.errors == ["70031"]


def test_a_refusal_by_pdd_returns_the_ticket_to_the_staff_with_the_platforms_message(client, connection, pdd):
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])
    pdd.buyer_cancels(str(case["id"]))  # before kefu heard of it
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]

    ticket = ticket_of(pdd, case["id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "当前售后单状态不允许同意退货" in escalation.reason


def test_a_partial_refund_is_not_sent_as_a_full_one(connection, pdd):
    case = pdd.create("refund_only")
    connector = PddConnector(connection)
    snapshot = connector.fetch(pdd.case_id(str(case["id"])))
    command = Command(
        CommandName.AGREE_REFUND,
        case_id=snapshot.case_id,
        amount_fen=1000,
        extra=PddConnector.command_extra(snapshot.raw),
    )

    with pytest.raises(PlatformError) as refused:
        connector.agree_refund(command)

    assert refused.value.kind == ErrorKind.PERMANENT and refused.value.code == "partial_refund"
    assert pdd.writes == [] and pdd.detail(str(case["id"]))["after_sales_status"] == 2


def test_a_return_inspected_in_kefu_is_refunded_on_pdd_and_a_partial_one_goes_back_to_the_staff(
    client, connection, pdd
):
    whole, partial = (
        pdd.create("return_refund", after_sales_status=7),
        pdd.create("return_refund", after_sales_status=7),
    )
    for waybill, case in enumerate((whole, partial)):
        arrive_by_push(client, pdd, case["id"])
        pdd.buyer_returns(str(case["id"]), waybill=f"ZT77001122{waybill}")
        ticket = arrive_by_push(client, pdd, case["id"], "RefundBuyerModifyAgreement")
        ticket = ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="receive")
    warehouse = staff_actor("warehouse")
    ticket_act(ticket=ticket_of(pdd, whole["id"]), actor=warehouse, action="pass_inspection")
    ticket_act(
        ticket=ticket_of(pdd, partial["id"]),
        actor=warehouse,
        action="pass_inspection_partly",
        amount=Decimal("100.00"),
        reason="吊牌已剪",
    )

    # Two receipts (kefu-side: nothing to call on PDD), the whole refund, the partial one refused by kefu itself.
    assert send_writebacks() == ["sent", "sent", "sent", "dead"]
    assert len(pdd.writes) == 1 and pdd.writes[-1] == (
        "pdd.refund.agree",
        {"after_sales_id": whole["id"], "order_sn": whole["order_sn"], "operate_desc": "同意退款"},
    )
    pdd.advance(timedelta(minutes=5))
    assert arrive_by_push(client, pdd, whole["id"], "RefundAgreeAgreement").state == "refunded"
    held = ticket_of(pdd, partial["id"])
    assert held.state == "refund_pending" and held.priority == Priority.URGENT
    assert pdd.detail(str(partial["id"]))["after_sales_status"] == 3  # nothing refunded on PDD


def test_a_replacement_shipped_in_kefu_gives_pdd_its_waybill_with_pdds_carrier_id(connection, pdd):
    case = pdd.create("refund_only", after_sales_type=3, after_sales_status=14)  # 换货, the merchant to act
    connector = PddConnector(connection)
    key = pdd.case_id(str(case["id"]))

    connector.ship_exchange(Command(CommandName.SHIP_EXCHANGE, case_id=key, carrier="中通快递", waybill="ZT99001"))

    api, request = pdd.writes[-1]
    assert api == "pdd.refund.exchange.shipping"
    assert (request["shipping_id"], request["tracking_number"]) == (115, "ZT99001")
    assert pdd.detail(str(case["id"]))["after_sales_status"] == 18
    with pytest.raises(PlatformError) as unknown:
        connector.ship_exchange(Command(CommandName.SHIP_EXCHANGE, case_id=key, carrier="不存在快递", waybill="X1"))
    assert unknown.value.kind == ErrorKind.PERMANENT and unknown.value.code == "unknown_carrier"
    with pytest.raises(PlatformError) as resend:
        connector.ship_resend(Command(CommandName.SHIP_RESEND, case_id=key, carrier="中通快递", waybill="ZT99002"))
    assert resend.value.kind == ErrorKind.PERMANENT and len(pdd.writes) == 1
