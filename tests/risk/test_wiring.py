"""The risk app follows the tickets by itself: the domain event of an opening, after its commit, runs the tasks
(Celery eager here: right after the commit, in this thread), which refresh the profile and apply the rules."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from kefu import celery_app
from risk.models import BuyerProfile, FastRefundRule, RiskPolicy
from tests.factories.desk import open_return, reload
from tests.factories.tickets import order_with_line
from tests.notifications.support import kefu_app_on
from tests.risk.history import shop_and_buyer

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def tasks_on_commit() -> Iterator[None]:
    with kefu_app_on("memory://"):
        celery_app.conf.task_always_eager = True  # restored by kefu_app_on
        yield


def test_an_opening_refreshes_the_profile_and_a_clean_small_request_is_approved_by_the_rule() -> None:
    shop, buyer = shop_and_buyer()
    FastRefundRule.objects.create(shop=shop, name="small", enabled=True, max_amount=Decimal("60.00"))

    ticket = open_return(order_with_line(shop=shop, buyer=buyer), refund_only=True, requested_amount=Decimal("30"))

    profile = BuyerProfile.objects.get(identities__buyer=buyer)
    assert profile.returns_30d == 1 and profile.refund_only_90d == 1
    assert reload(ticket).state in ("refund_pending", "refunded")  # the payment task may have run too


def test_the_second_return_of_a_serial_returner_is_flagged_and_left_to_people() -> None:
    shop, buyer = shop_and_buyer()
    RiskPolicy.objects.create(shop=shop, serial_returns_30d=2)
    FastRefundRule.objects.create(shop=shop, name="small", enabled=True, max_amount=Decimal("60.00"), max_refunds_90d=9)
    open_return(order_with_line(shop=shop, buyer=buyer), requested_amount=Decimal("30"))

    second = open_return(order_with_line(shop=shop, buyer=buyer), refund_only=True, requested_amount=Decimal("30"))

    assert reload(second).state == "requested"
    assert BuyerProfile.objects.get(identities__buyer=buyer).flags.filter(code="serial_returner").exists()
