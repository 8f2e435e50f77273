"""The Douyin shop connector against the local simulator (tests/simulators/douyin.py): staff decisions written back.

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.commands import Command, CommandName, ErrorKind, PlatformError
from connectors.models import WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.services.sync import connection_reconcile
from connectors.services.writeback import writeback_send
from tests.connectors.conftest import ticket_of, timeline
from tests.connectors.douyin.conftest import arrive_by_push, send_writebacks
from tests.factories.tickets import staff_actor
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def test_approving_a_return_in_kefu_agrees_it_on_douyin_with_the_shops_return_address(client, connection, douyin):
    case = douyin.create("return_refund")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 7
    write = douyin.writes[-1]
    assert write["type"] == 101
    assert write["items"] == [
        {
            "aftersale_id": case["aftersale_id"],
            "update_time": case["update_time"],
            "logistics": {"receiver_address_id": 70001},
        }
    ]
    arrive_by_push(client, douyin, case["aftersale_id"], 202)
    assert [e[1] for e in timeline(ticket_of(case["aftersale_id"])) if e[0] == EventType.TRANSITION] == ["approve"]


def test_approving_an_exchange_in_kefu_agrees_it_on_douyin(client, connection, douyin):
    case = douyin.create("exchange")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert douyin.writes[-1]["type"] == 301 and douyin.get(case["aftersale_id"])["aftersale_status"] == 7


def test_a_refund_only_approved_in_kefu_is_refunded_by_douyin_and_settled_in_kefu(client, connection, douyin):
    case = douyin.create("refund_only")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert ticket.state == "refund_pending"
    assert send_writebacks() == ["sent"]
    assert douyin.writes[-1]["type"] == 201
    ticket = arrive_by_push(client, douyin, case["aftersale_id"], 206)

    assert ticket.state == "refunded"
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert paid.status == RefundStatus.SUCCEEDED and paid.reference == f"douyin:{case['aftersale_id']}"


def test_rejecting_a_refund_only_in_kefu_refuses_it_on_douyin_with_the_reason_code(client, connection, douyin):
    case = douyin.create("refund_only")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="商品已签收，请走退货退款")

    assert send_writebacks() == ["sent"]
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 27
    item = douyin.writes[-1]["items"][0]
    assert douyin.writes[-1]["type"] == 202
    assert (item["reject_reason_code"], item["reason"]) == (4, "商品已签收，请走退货退款")


def test_a_decision_without_a_confirmed_douyin_api_goes_back_to_the_staff_saying_so(client, connection, douyin):
    case = douyin.create("return_refund")  # refusing a return (102) is not a confirmed operate type
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="超出七天无理由期限")

    assert send_writebacks() == ["dead"]
    assert douyin.writes == [] and "afterSale.operate" not in douyin.calls
    ticket = ticket_of(case["aftersale_id"])
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert "back office" in escalation.reason and ticket.priority == Priority.URGENT


def test_a_rate_limited_write_back_is_retried_later_and_then_goes_through(client, connection, douyin):
    case = douyin.create("return_refund")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    douyin.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and row.attempts == 1 and "rate_limited" in row.last_error
    assert writeback_send(writeback_id=row.pk) == "skipped"  # not due yet

    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 7
    assert douyin.errors == ["isp.api-call-limited"]


def test_a_system_error_or_a_stalled_gateway_is_retried(client, connection, douyin, settings):
    case = douyin.create("refund_only")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    row = WriteBack.objects.get()
    douyin.fail_next = 1
    assert writeback_send(writeback_id=row.pk) == "retry"
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 0.3
    douyin.stall, douyin.stall_next = 1.0, 1
    row.refresh_from_db()
    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "retry"

    row.refresh_from_db()
    assert "transient" in row.last_error and row.attempts == 2
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 10
    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 12


def test_a_status_changed_refusal_hands_the_ticket_back_with_the_platforms_message(client, connection, douyin):
    case = douyin.create("return_refund")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    douyin.buyer_cancels(case["aftersale_id"])  # before kefu heard of it
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]

    assert douyin.errors == ["isv.business-failed:20309541"]
    ticket = ticket_of(case["aftersale_id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "售后单状态已变更" in escalation.reason
    assert WriteBack.objects.get().status == WriteBackStatus.DEAD
    # Reconciliation re-fetches the case: kefu follows the buyer's cancellation.
    connection_reconcile(connection_id=connection.pk)
    assert ticket_of(case["aftersale_id"]).state == "cancelled"


def test_the_exchange_shipment_goes_with_the_sellers_waybill_and_resend_says_it_has_no_api(connection, douyin):
    case = douyin.create("exchange", aftersale_status=8)  # goods back: the merchant is to ship the replacement
    connector = connector_for(connection)
    version = connector.fetch(case["aftersale_id"]).version

    connector.execute(
        Command(CommandName.SHIP_EXCHANGE, case["aftersale_id"], version=version, carrier="zhongtong", waybill="ZT9")
    )

    assert douyin.writes[-1]["type"] == 311
    assert douyin.writes[-1]["items"][0]["logistics"] == {"company_code": "zhongtong", "logistics_code": "ZT9"}
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 13
    for name in (CommandName.SHIP_RESEND, CommandName.UPLOAD_EVIDENCE):
        with pytest.raises(PlatformError) as refused:
            connector.execute(Command(name, case["aftersale_id"], version=version))
        assert refused.value.kind == ErrorKind.PERMANENT and refused.value.code == "unconfirmed_api"
    assert len(douyin.writes) == 1
