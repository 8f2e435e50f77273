"""The WeChat Channels shop connector against the local simulator (tests/simulators/wechat.py): staff decisions
written back.

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.commands import Command, CommandName, ErrorKind, PlatformError
from connectors.models import WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.services.writeback import writeback_send
from tests.connectors.conftest import ticket_of, timeline
from tests.connectors.wechat.conftest import arrive_by_push, send_writebacks
from tests.factories.tickets import staff_actor
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def test_approving_a_return_in_kefu_accepts_it_on_wechat_with_the_shops_return_address(client, connection, wechat):
    case = wechat.create("return")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert wechat.get(case_id)["status"] == "USER_WAIT_RETURN"
    assert wechat.writes[-1] == ("acceptapply", {"after_sale_order_id": case_id, "address_id": "20001"})
    arrive_by_push(client, wechat, case_id)  # WeChat's report of that change runs nothing a second time
    assert [e[1] for e in timeline(ticket_of(case_id)) if e[0] == EventType.TRANSITION] == ["approve"]


def test_a_return_received_and_passed_in_kefu_is_refunded_on_wechat(client, connection, wechat):
    case = wechat.create("return")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert send_writebacks() == ["sent"]
    wechat.buyer_returns(case_id)
    ticket = arrive_by_push(client, wechat, case_id)
    warehouse = staff_actor("warehouse")

    ticket = ticket_act(ticket=ticket, actor=warehouse, action="receive")
    assert wechat.get(case_id)["status"] == "MERCHANT_WAIT_RECEIPT"  # receipt alone is kefu's step
    ticket = ticket_act(ticket=ticket, actor=warehouse, action="pass_inspection")
    assert send_writebacks() == ["skipped", "sent", "sent"]  # (agree return: sent before), receipt (kefu-side), refund

    assert wechat.get(case_id)["status"] == "MERCHANT_RETURN_SUCCESS"
    assert [w[0] for w in wechat.writes] == ["acceptapply", "acceptapply"]
    ticket = arrive_by_push(client, wechat, case_id)
    assert ticket.state == "refunded"


def test_a_refund_only_approved_in_kefu_is_refunded_by_wechat_and_settled_in_kefu(client, connection, wechat):
    case = wechat.create("refund")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)

    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert ticket.state == "refund_pending"
    assert send_writebacks() == ["sent"]
    assert wechat.writes[-1] == ("acceptapply", {"after_sale_order_id": case_id})
    ticket = arrive_by_push(client, wechat, case_id)

    assert ticket.state == "refunded"
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert paid.status == RefundStatus.SUCCEEDED and paid.reference == f"wechat:{case_id}"


def test_rejecting_in_kefu_rejects_on_wechat_with_the_reason(client, connection, wechat):
    case = wechat.create("refund")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="已发货，请先拒收")

    assert send_writebacks() == ["sent"]
    assert wechat.get(case["after_sale_order_id"])["status"] == "MERCHANT_REJECT_REFUND"
    assert wechat.writes[-1][1]["reject_reason"] == "已发货，请先拒收"
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    assert ticket.state == "rejected"
    assert [e[1] for e in timeline(ticket) if e[0] == EventType.TRANSITION] == ["reject"]


def test_rate_limited_and_busy_answers_are_retried_later_and_then_go_through(client, connection, wechat):
    case = wechat.create("return")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    wechat.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and "rate_limited: 45009" in row.last_error
    assert writeback_send(writeback_id=row.pk) == "skipped"  # not due yet
    wechat.busy_next = 1
    row.refresh_from_db()
    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "retry"
    row.refresh_from_db()
    assert "transient: -1" in row.last_error

    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert wechat.get(case["after_sale_order_id"])["status"] == "USER_WAIT_RETURN"
    assert wechat.errors == [45009, -1]


def test_a_refusal_by_wechat_returns_the_ticket_to_the_staff_with_the_platforms_message(client, connection, wechat):
    case = wechat.create("return")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    wechat.buyer_cancels(case["after_sale_order_id"])  # before kefu heard of it
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]

    ticket = ticket_of(case["after_sale_order_id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "当前售后单状态不允许同意" in escalation.reason
    assert WriteBack.objects.get().status == WriteBackStatus.DEAD


def test_a_return_address_unknown_to_wechat_is_a_refusal_the_staff_see(client, connection, wechat):
    connection.return_address_id = "99999"
    connection.save()
    case = wechat.create("return")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]
    assert "退货地址不存在" in WriteBack.objects.get().last_error


def test_commands_wechat_has_no_api_for_are_permanent_refusals_that_say_so(connection, wechat):
    connector = connector_for(connection)

    with pytest.raises(PlatformError) as resend:
        connector.execute(Command(CommandName.SHIP_RESEND, case_id="1"))
    with pytest.raises(PlatformError) as partial:
        connector.execute(Command(CommandName.AGREE_REFUND, case_id="1", amount_fen=100, extra={"refund_fen": 200}))

    assert resend.value.kind == ErrorKind.PERMANENT and "补寄" in resend.value.message
    assert partial.value.kind == ErrorKind.PERMANENT and "merchantupdateaftersale" in partial.value.message
    assert wechat.calls == []  # refused before calling the platform


def test_evidence_is_uploaded_to_the_case(connection, wechat):
    case = wechat.create("refund")

    connector_for(connection).execute(
        Command(CommandName.UPLOAD_EVIDENCE, case_id=case["after_sale_order_id"], evidence=("media-1",), reason="签收")
    )

    assert wechat.writes[-1][0] == "uploadrefundcertificate"
    assert wechat.get(case["after_sale_order_id"])["merchant_upload_info"]["refund_certificates"] == ["media-1"]
