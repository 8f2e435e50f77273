"""The payments pages of the admin: importing coupon codes, the low-pool warning, paying a compensation through
the payout form (the same service as every caller; refusals shown on the form), and write-only account keys."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from orders.models import Shop
from payments.models import CompensationPayout, CouponCode, PaymentAccount
from tests.admin.conftest import desk_user, logged_in, messages_of, ticket
from tests.factories.orders import ShopFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    return logged_in(desk_user("operations", username="root", superuser=True))


def test_codes_are_imported_and_a_low_pool_warns(admin_client) -> None:
    shop = ShopFactory(name="小店")

    response = admin_client.post(
        reverse("admin:payments_couponcode_add"), {"shop": shop.pk, "codes": "A1\nA2\nB1,50.00", "value": "10.00"}
    )
    listing = admin_client.get(reverse("admin:payments_couponcode_changelist"))

    assert response.status_code == 302
    assert sorted(CouponCode.objects.values_list("code", "value")) == [
        ("A1", Decimal("10.00")),
        ("A2", Decimal("10.00")),
        ("B1", Decimal("50.00")),
    ]
    assert "小店 has 3 coupon codes left: import more." in messages_of(listing)


def test_a_bad_line_is_shown_on_the_form_and_nothing_is_imported(admin_client) -> None:
    shop = ShopFactory()

    response = admin_client.post(reverse("admin:payments_couponcode_add"), {"shop": shop.pk, "codes": "A1,ten"})

    assert response.status_code == 200
    assert "Line 1: ten is not an amount." in response.content.decode()
    assert not CouponCode.objects.exists()


def test_a_compensation_is_paid_with_a_coupon_from_the_form(admin_client) -> None:
    logistics = ticket("logistics", "compensating", compensation_amount=Decimal("20.00"))
    CouponCode.objects.create(shop=Shop.objects.get(pk=logistics.shop_id), code="GIFT20", value=Decimal("20.00"))

    response = admin_client.post(
        reverse("admin:payments_compensationpayout_add"), {"ticket": logistics.pk, "method": "coupon"}
    )

    assert response.status_code == 302
    assert CompensationPayout.objects.get().reference == "GIFT20"
    assert Ticket.objects.get(pk=logistics.pk).state == "resolved"


def test_a_refused_payout_is_shown_on_the_form_and_writes_nothing(admin_client) -> None:
    logistics = ticket("logistics", "compensating", compensation_amount=Decimal("20.00"))

    response = admin_client.post(
        reverse("admin:payments_compensationpayout_add"), {"ticket": logistics.pk, "method": "coupon"}
    )

    assert response.status_code == 200
    assert "no unissued coupon code worth ¥20.00" in response.content.decode()
    assert not CompensationPayout.objects.exists()
    assert Ticket.objects.get(pk=logistics.pk).state == "compensating"


def test_account_keys_are_write_only(admin_client) -> None:
    shop = ShopFactory()
    fields = {"shop": shop.pk, "provider": "alipay", "active": "on", "app_id": "2021000117600001"}

    admin_client.post(reverse("admin:payments_paymentaccount_add"), {**fields, "private_key": "-----KEY-----"})
    account = PaymentAccount.objects.get()
    page = admin_client.get(reverse("admin:payments_paymentaccount_change", args=[account.pk]))
    admin_client.post(reverse("admin:payments_paymentaccount_change", args=[account.pk]), {**fields, "private_key": ""})

    assert "-----KEY-----" not in page.content.decode()
    assert PaymentAccount.objects.get().private_key == "-----KEY-----"  # an empty field kept it
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key FROM payments_paymentaccount")
        assert cursor.fetchone()[0].startswith("fernet:")  # encrypted at rest
