"""Tmall exchanges (换货) against the local TOP simulator: read by push (``bill_type=replace_bill``) and pull
(``tmall.exchange.receive.get``), answered with ``tmall.exchange.*``, and followed to the buyer's receipt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import PlatformCase
from connectors.services.sync import connection_pull, inbox_process
from tests.connectors.conftest import push, send_pending_writebacks, ticket_of, transitions
from tests.factories.tickets import staff_actor
from tests.simulators.taobao import TaobaoSimulator
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def arrive(client, taobao: TaobaoSimulator, dispute_id: str, topic: str = "RefundCreated"):
    response = push(client, taobao.exchange_message(dispute_id, topic))
    assert response.status_code == 200, response.content
    inbox_process()
    return ticket_of(f"exchange:{dispute_id}")


def test_a_tmall_exchange_runs_from_the_request_to_the_buyers_receipt(client, connection, taobao):
    taobao.create_exchange("770001", deadline_hours=20)
    ticket = arrive(client, taobao, "770001")
    assert (ticket.kind, ticket.state) == ("exchange", "requested")
    assert ticket.platform_due_at is not None
    assert abs(ticket.platform_due_at - (timezone.now() + timedelta(hours=20))) < timedelta(minutes=1)

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="同意换货")
    assert send_pending_writebacks() == ["sent"]
    method, params = taobao.writes[-1]
    assert (method, params["dispute_id"], params["address_id"]) == ("tmall.exchange.agree", "770001", "5001")

    taobao.buyer_returns_exchange("770001", waybill="ZT8800990011")
    ticket = arrive(client, taobao, "770001", "RefundBuyerReturnGoods")
    assert ticket.state == "return_in_transit" and ticket.return_shipment.tracking_number == "ZT8800990011"

    ticket = ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="receive")
    assert send_pending_writebacks() == ["sent"] and taobao.writes[-1][0] == "tmall.exchange.returngoods.agree"
    ticket = ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection")
    ticket_act(
        ticket=ticket,
        actor=staff_actor("warehouse"),
        action="ship_replacement",
        carrier="顺丰速运",
        tracking_number="SF77",
    )
    assert send_pending_writebacks() == ["sent"]
    method, params = taobao.writes[-1]
    assert (method, params["logistics_no"], params["logistics_company_name"]) == (
        "tmall.exchange.consigngoods",
        "SF77",
        "顺丰速运",
    )
    assert arrive(client, taobao, "770001", "RefundSellerAgreeAgreement").state == "replacement_shipped"

    taobao.buyer_receives_exchange("770001")
    ticket = arrive(client, taobao, "770001", "RefundSuccess")

    assert ticket.state == "completed"
    assert transitions(ticket) == [
        ("approve", "staff"),
        ("ship_back", "platform"),
        ("receive", "staff"),
        ("pass_inspection", "staff"),
        ("ship_replacement", "staff"),
        ("confirm_receipt", "platform"),
    ]
    assert PlatformCase.objects.get(case_id="exchange:770001").last_error == ""


def test_the_pull_reads_the_windows_exchanges_after_its_refunds(connection, taobao):
    refund = taobao.create("refund_only")
    taobao.create_exchange("770002")

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 2
    assert taobao.calls[:2] == ["taobao.refunds.receive.get", "tmall.exchange.receive.get"]
    kinds = dict(PlatformCase.objects.values_list("case_id", "ticket__kind"))
    assert kinds == {refund["refund_id"]: "return", "exchange:770002": "exchange"}


def test_refusing_an_exchange_in_kefu_refuses_it_on_tmall(client, connection, taobao):
    taobao.create_exchange("770003")
    ticket = arrive(client, taobao, "770003")

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="商品已剪吊牌")

    assert send_pending_writebacks() == ["sent"]
    method, params = taobao.writes[-1]
    assert (method, params["leave_message"]) == ("tmall.exchange.refuse", "商品已剪吊牌")
    assert taobao.exchanges["770003"]["status"] == "待买家修改"
