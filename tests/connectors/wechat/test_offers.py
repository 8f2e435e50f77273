"""协商 on a WeChat Channels shop, against the local WeChat simulator: the merchant's offer made in the 微信小店
back office is read (``USER_WAIT_CONFIRM_UPDATE``) and the buyer's answer followed; an offer made in kefu is
handed back to the staff (商家协商 needs a reason code WeChat does not publish)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from connectors.models import PlatformCase
from tests.connectors.conftest import transitions
from tests.connectors.wechat.conftest import arrive_by_push, send_writebacks
from tests.factories.tickets import staff_actor
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def later(wechat) -> None:
    """WeChat times changes in whole seconds: the next change happens in a later one."""
    wechat.offset += timedelta(seconds=2)


def test_an_offer_made_in_the_back_office_is_read_and_its_acceptance_refunds_the_offered_amount(
    client,
    connection,
    wechat,
):
    case = wechat.create("refund")  # ¥200.07 asked
    case_id = case["after_sale_order_id"]
    arrive_by_push(client, wechat, case_id)
    later(wechat)
    wechat.merchant_offers(case_id, amount=15000)

    ticket = arrive_by_push(client, wechat, case_id)
    assert ticket.state == "counter_offered" and ticket.offered_amount == Decimal("150.00")
    assert transitions(ticket) == [("counter_offer", "platform")]

    later(wechat)
    wechat.buyer_answers_offer(case_id, accept=True)
    ticket = arrive_by_push(client, wechat, case_id)

    assert ticket.state == "refunded" and ticket.approved_amount == Decimal("150.00")
    assert transitions(ticket)[1:] == [("accept_offer", "platform"), ("complete_refund", "platform")]
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert (paid.amount, paid.status) == (Decimal("150.00"), RefundStatus.SUCCEEDED)


def test_a_declined_offer_hands_the_request_back_to_the_staff_with_the_platform_deadline(
    client,
    connection,
    wechat,
):
    case = wechat.create("return")
    case_id = case["after_sale_order_id"]
    arrive_by_push(client, wechat, case_id)
    later(wechat)
    wechat.merchant_offers(case_id, amount=5000)
    arrive_by_push(client, wechat, case_id)
    later(wechat)
    wechat.buyer_answers_offer(case_id, accept=False)

    ticket = arrive_by_push(client, wechat, case_id)

    assert ticket.state == "requested" and ticket.offered_amount is None
    assert transitions(ticket)[-1] == ("decline_offer", "platform")
    assert ticket.platform_due_at is not None and ticket.due_at is not None  # the merchant's turn again
    assert PlatformCase.objects.get(case_id=case_id).last_error == ""


def test_an_offer_made_in_kefu_is_handed_back_saying_to_use_the_back_office(client, connection, wechat):
    case = wechat.create("refund")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    ticket_act(
        ticket=ticket,
        actor=staff_actor("operations"),
        action="counter_offer",
        offer="退 150",
        offer_amount=Decimal("150"),
    )

    assert send_writebacks() == ["dead"]

    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert "微信小店" in ticket.events.get(event_type=EventType.ESCALATION).reason
    assert not [w for w in wechat.writes if w[0] == "merchantupdateaftersale"]
