"""The finance queue in a real browser: a finance clerk selects the refunds waiting for a manual payout, records
one bank transfer for all of them, and their tickets are refunded; staff without the finance permission get 403.
In Chinese (the browser's default zh-CN): docs/screenshots/finance-queue.png and finance-payout.png are the clerk's
view (docs/admin.md).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from orders.models import Channel
from tests.browser.conftest import login, screenshot
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShopFactory
from tests.factories.tickets import staff_actor
from tickets.actors import Actor
from tickets.models import Refund, RefundStatus, ReturnTicket
from tickets.services import refund_execute, return_open, ticket_act
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-browser-12345"
QUEUE = "/admin/tickets/refundtopay/"


def waiting_refund(shop, number: str, buyer: str, price: str) -> ReturnTicket:
    """A refund-only ticket approved by operations, its refund submitted to the finance queue."""
    with transaction.atomic():
        order = OrderFactory(shop=shop, buyer=BuyerFactory(shop=shop, name=buyer), number=number)
        OrderLineFactory(
            order=order, sku="SKU-A", name="纯棉圆领T恤", unit_price=Decimal(price), paid_amount=Decimal(price)
        )
        ticket = return_open(
            order=order,
            actor=Actor.for_buyer(order.buyer),
            lines=[LineRequest("SKU-A", 1)],
            reason_code="not_received",
            refund_only=True,
            description="没有收到货。",
        )
        ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
    refund_execute(refund_id=Refund.objects.get(ticket=ticket).pk)
    return ticket


def user_in(django_user_model, username: str, group: str):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_a_finance_clerk_records_one_payout_for_several_refunds(page, live_server, django_user_model) -> None:
    shop = ShopFactory(code="own", name="糖果家居 官方商城", channel=Channel.OWN)
    tickets = [
        waiting_refund(shop, "OWN20260301001", "林小美", "79.00"),
        waiting_refund(shop, "OWN20260301002", "张伟", "159.00"),
    ]
    user_in(django_user_model, "fin", "finance")

    login(page, live_server, "fin", PASSWORD)
    page.goto(f"{live_server.url}{QUEUE}")
    for ticket in tickets:
        assert page.locator("#result_list td.field-ticket_number").get_by_text(ticket.number, exact=True).is_visible()
    screenshot(page, "finance-queue")
    page.click("#action-toggle")
    page.select_option("select[name=action]", "record_payout")
    with page.expect_navigation():
        page.click("button[name=index]")
    assert page.locator("#payout-total").inner_text() == "¥238.00"
    page.select_option("#id_channel", "bank_transfer")
    page.fill("#id_reference", "ICBC-20260301-0001")
    screenshot(page, "finance-payout")
    with page.expect_navigation():
        page.click("#record-payout input[type=submit]")

    message = page.locator(".messagelist .success").inner_text()
    assert all(ticket.number in message for ticket in tickets), message
    assert page.locator("#result_list").count() == 0  # the queue is empty now
    for ticket in tickets:
        stored = ReturnTicket.objects.get(pk=ticket.pk)
        refund = Refund.objects.get(ticket=ticket)
        assert stored.state == "refunded"
        assert (refund.status, refund.payout_channel, refund.reference) == (
            RefundStatus.SUCCEEDED,
            "bank_transfer",
            "ICBC-20260301-0001",
        )
        assert refund.confirmed_by.username == "fin"


def test_a_payout_without_transaction_number_is_refused_and_nothing_recorded(
    page, live_server, django_user_model
) -> None:
    shop = ShopFactory(code="own", name="糖果家居 官方商城", channel=Channel.OWN)
    ticket = waiting_refund(shop, "OWN20260301003", "王芳", "39.90")
    user_in(django_user_model, "fin", "finance")

    login(page, live_server, "fin", PASSWORD)
    page.goto(f"{live_server.url}{QUEUE}")
    page.click("#action-toggle")
    page.select_option("select[name=action]", "record_payout")
    with page.expect_navigation():
        page.click("button[name=index]")
    page.select_option("#id_channel", "alipay_account")
    with page.expect_navigation():
        page.click("#record-payout input[type=submit]")

    assert "交易流水号" in page.locator(".errorlist").inner_text()
    assert Refund.objects.get(ticket=ticket).status == RefundStatus.SUBMITTED


@pytest.mark.parametrize("group", ["operations", "supervisors"])
def test_staff_without_the_finance_permission_cannot_open_the_queue(
    page, live_server, django_user_model, group
) -> None:
    shop = ShopFactory(code="own", name="糖果家居 官方商城", channel=Channel.OWN)
    waiting_refund(shop, "OWN20260301004", "李娜", "99.00")
    user_in(django_user_model, "staff", group)

    login(page, live_server, "staff", PASSWORD)
    response = page.goto(f"{live_server.url}{QUEUE}")

    assert response is not None and response.status == 403
    page.goto(f"{live_server.url}/admin/")
    assert page.locator(f"a[href='{QUEUE}']").count() == 0
