"""The risk pages of the admin: a fast-refund rule starts off and shows its backtest; thresholds per shop."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from risk.models import FastRefundRule, RiskPolicy
from tests.admin.conftest import desk_user, logged_in
from tests.factories.orders import BuyerFactory
from tests.risk.history import past_ticket, shop_and_buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    return logged_in(desk_user("supervisors", superuser=True))


def test_a_new_rule_is_saved_switched_off_and_its_page_shows_the_backtest(admin_client) -> None:
    shop, _buyer = shop_and_buyer()
    for days, amount in ((3, "20.00"), (10, "45.00"), (120, "10.00")):
        past_ticket(BuyerFactory(shop=shop), days=days, refund_only=True, requested_amount=Decimal(amount))

    add = admin_client.get(reverse("admin:risk_fastrefundrule_add"))
    assert 'name="enabled"' not in add.content.decode()  # not offered before the backtest was seen
    assert "Save the rule (it stays off)" in add.content.decode()
    saved = admin_client.post(
        reverse("admin:risk_fastrefundrule_add"),
        {"shop": shop.pk, "name": "small", "max_amount": "50.00", "refund_only": "on", "max_refunds_90d": "0"},
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    rule = FastRefundRule.objects.get(name="small")
    assert rule.enabled is False

    page = admin_client.get(reverse("admin:risk_fastrefundrule_change", args=[rule.pk])).content.decode()
    assert "Would have approved 2 requests for ¥65.00 in the last 90 days; 0 of them later turned out disputed" in page
    assert 'name="enabled"' in page


def test_a_rule_needs_an_amount_above_zero(admin_client) -> None:
    shop, _buyer = shop_and_buyer()
    answer = admin_client.post(
        reverse("admin:risk_fastrefundrule_add"),
        {"shop": shop.pk, "name": "zero", "max_amount": "0.00", "refund_only": "on", "max_refunds_90d": "0"},
    )
    assert answer.status_code == 200
    assert "The amount must be above ¥0.00." in answer.content.decode()
    assert not FastRefundRule.objects.exists()


def test_a_shops_policy_refuses_a_distance_that_matches_every_photo(admin_client) -> None:
    shop, _buyer = shop_and_buyer()
    answer = admin_client.post(reverse("admin:risk_riskpolicy_add"), {"shop": shop.pk, "evidence_distance": "40"})
    assert "At most 32 bits" in answer.content.decode()
    assert not RiskPolicy.objects.exists()
