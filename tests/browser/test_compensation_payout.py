"""Compensation payouts in a real browser: a supervisor imports coupon codes into the shop's pool (the list warns
that the pool runs low), then pays a logistics ticket's compensation with a coupon code from the payout form; the
ticket is resolved. In Chinese (the browser's default zh-CN): docs/screenshots/compensation-payout.png.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from payments.models import CompensationPayout, CouponCode
from tests.browser.conftest import login, screenshot
from tests.factories.orders import ShopFactory
from tests.factories.tickets import order_with_line, ticket_build
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-browser-12345"


def test_a_supervisor_imports_codes_and_pays_a_compensation_with_one(page, live_server, django_user_model) -> None:
    shop = ShopFactory(code="own", name="糖果家居 官方商城")
    with transaction.atomic():
        ticket = ticket_build(
            "logistics", "compensating", order=order_with_line(shop=shop), compensation_amount=Decimal("20.00")
        )
    django_user_model.objects.create_superuser("boss", password=PASSWORD)

    login(page, live_server, "boss", PASSWORD)
    page.goto(f"{live_server.url}/admin/payments/couponcode/add/")
    page.select_option("#id_shop", str(shop.pk))
    page.fill("#id_codes", "GIFT-20-A\nGIFT-20-B\nGIFT-50,50.00")
    page.fill("#id_value", "20.00")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert "糖果家居 官方商城" in page.locator(".messagelist .warning").inner_text()  # 3 codes: below 10

    page.goto(f"{live_server.url}/admin/payments/compensationpayout/add/")
    page.select_option("#id_ticket", str(ticket.pk))
    page.select_option("#id_method", "coupon")
    screenshot(page, "compensation-payout")
    with page.expect_navigation():
        page.click("input[name=_save]")

    assert page.locator(".messagelist .success").count() == 1
    assert CompensationPayout.objects.get().reference == "GIFT-20-A"
    assert CouponCode.objects.get(code="GIFT-20-A").issued_to_id == ticket.pk
    assert Ticket.objects.get(pk=ticket.pk).state == "resolved"
