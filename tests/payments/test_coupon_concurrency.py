"""Coupon codes paid out at the same moment on PostgreSQL: each ticket gets its own code, no code twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.models import CouponCode, PayoutMethod
from payments.services.coupons import coupon_import
from payments.services.payouts import compensation_pay
from tests.factories.orders import ShopFactory
from tests.factories.tickets import order_with_line, staff_actor, ticket_build
from tests.markers import requires_postgres
from tests.racing import race

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_concurrent_coupon_payouts_never_share_a_code() -> None:
    shop = ShopFactory(code="couponrace")
    coupon_import(shop=shop, text="A-1\nA-2\nA-3\nA-4", value=Decimal("20.00"))
    tickets = [
        ticket_build("logistics", "compensating", order=order_with_line(shop=shop), compensation_amount=Decimal("20"))
        for _ in range(3)
    ]
    actor = staff_actor("operations")

    outcomes = race(
        3,
        prepare=lambda i: tickets[i],
        act=lambda i, ticket: compensation_pay(ticket=ticket, method=PayoutMethod.COUPON, actor=actor),
    )

    assert [o.error for o in outcomes] == [None, None, None], [o.trace for o in outcomes]
    codes = [o.value.coupon.code for o in outcomes]
    assert len(set(codes)) == 3
    issued = CouponCode.objects.filter(issued_to__isnull=False)
    assert sorted(issued.values_list("code", flat=True)) == sorted(codes)
    assert sorted(issued.values_list("issued_to_id", flat=True)) == sorted(t.pk for t in tickets)
