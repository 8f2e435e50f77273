"""A buyer's profile: figures computed from generated histories, identities joined by digest, query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk.identity import buyer_digests
from risk.models import BuyerIdentity, BuyerProfile, IdentityKind
from risk.services.profiles import buyer_profile_refresh, profile_for_buyer, profile_refresh
from tests.factories.orders import BuyerFactory
from tests.factories.tickets import ticket_build
from tests.risk.history import past_ticket, refund_of, shop_and_buyer
from tickets.actors import Actor
from tickets.models import EventType, Ticket
from tickets.services.engine import event_record

pytestmark = pytest.mark.django_db


def test_a_history_gives_its_figures_per_window() -> None:
    shop, buyer = shop_and_buyer()
    for days in (2, 10, 40, 100, 200, 400):  # the last is outside every window
        past_ticket(buyer, days=days)
    refund_only = past_ticket(buyer, days=5, refund_only=True)
    past_ticket(buyer, "complaint", days=3)
    refund_of(refund_only, "30.00", days=4)
    refund_of(refund_only, "20.00", days=60)
    refund_of(refund_only, "99.00", days=6, failed=True)  # a failed refund moved no money

    profile = buyer_profile_refresh(buyer_id=buyer.pk)

    assert profile is not None
    assert (profile.tickets_30d, profile.tickets_90d, profile.tickets_365d) == (4, 5, 7)
    assert (profile.returns_30d, profile.returns_90d, profile.returns_365d) == (3, 4, 6)
    assert (profile.refunds_30d, profile.refunds_90d, profile.refunds_365d) == (1, 2, 2)
    assert (profile.refund_only_90d, profile.refund_only_365d) == (1, 1)
    assert profile.refunded_amount == Decimal("50.00")
    assert profile.ordered_amount == Decimal("700.00")  # seven orders of ¥100 paid in the year
    assert profile.refunded_share == 7


def test_the_same_phone_in_two_buyer_rows_is_one_profile_and_never_stored_raw() -> None:
    shop, first = shop_and_buyer(phone="138 0013 8000")
    second = BuyerFactory(shop=shop, phone="+8613800138000", external_id="other-channel-id")
    past_ticket(first, days=1)
    past_ticket(second, days=2)

    profile = buyer_profile_refresh(buyer_id=first.pk)
    buyer_profile_refresh(buyer_id=second.pk)

    assert BuyerIdentity.objects.get(buyer=second).profile_id == profile.pk
    profile.refresh_from_db()
    assert profile.tickets_30d == 2
    assert profile.identity_kind == IdentityKind.PHONE
    stored = [profile.key, *BuyerIdentity.objects.values_list("phone_digest", flat=True)]
    assert not any("13800138000" in value for value in stored)
    assert profile.key == buyer_digests(first).phone


def test_another_shop_with_the_same_phone_is_another_profile() -> None:
    _shop, buyer = shop_and_buyer(phone="13800138001")
    _other_shop, twin = shop_and_buyer(phone="13800138001")
    assert profile_for_buyer(buyer=buyer).pk != profile_for_buyer(buyer=twin).pk


def test_a_buyer_without_phone_or_email_is_known_by_the_platform_id() -> None:
    _shop, buyer = shop_and_buyer(phone="", email="")
    assert profile_for_buyer(buyer=buyer).identity_kind == IdentityKind.PLATFORM


def test_threats_and_cancelled_returns_after_a_refund_are_counted() -> None:
    shop, buyer = shop_and_buyer()
    threatening = past_ticket(buyer, "complaint", days=3, description="不给我退款我就给差评")
    quiet = past_ticket(buyer, "complaint", days=4, description="包装破了")
    event_record(
        ticket=quiet,
        actor=Actor.for_buyer(buyer),
        event_type=EventType.COMMENT,
        reason="If you don't refund me I'll leave a bad review",
    )
    refunded = past_ticket(buyer, days=10, refund_only=True)
    refund_of(refunded, days=9)
    cancelled = ticket_build("return", "cancelled", order=refunded.order, lines=[])
    Ticket.objects.filter(pk=cancelled.pk).update(
        closed_at=refunded.created_at.replace(year=refunded.created_at.year + 1)
    )

    profile = buyer_profile_refresh(buyer_id=buyer.pk)

    assert profile is not None and threatening.pk
    assert profile.review_threats_365d == 2
    assert profile.cancelled_after_refund == 1


def test_refreshing_costs_the_same_queries_whatever_the_history() -> None:
    """Set-based: a buyer with one ticket and one with fifteen and their refunds cost the same statements."""
    _shop, buyer = shop_and_buyer()
    past_ticket(buyer, days=1)
    profile = profile_for_buyer(buyer=buyer)
    with CaptureQueriesContext(connection) as small:
        profile_refresh(profile=profile)
    for days in range(2, 30, 2):
        ticket = past_ticket(buyer, days=days, refund_only=days % 4 == 0)
        refund_of(ticket, days=days)
    profile_refresh(profile=profile)  # raises the serial returner flag (noted on each open ticket: not counted)
    with CaptureQueriesContext(connection) as large:
        profile_refresh(profile=profile)
    assert len(large) == len(small) <= 12, [q["sql"] for q in large.captured_queries]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ages=st.lists(st.integers(min_value=0, max_value=500), max_size=8))
def test_generated_histories_count_each_ticket_in_its_windows(ages: list[int]) -> None:
    _shop, buyer = shop_and_buyer()
    for age in ages:
        past_ticket(buyer, days=age + 0.5)
    profile = buyer_profile_refresh(buyer_id=buyer.pk)
    assert profile is not None
    for window, value in ((30, profile.returns_30d), (90, profile.returns_90d), (365, profile.returns_365d)):
        assert value == sum(1 for age in ages if age + 0.5 < window)
    assert BuyerProfile.objects.filter(identities__buyer=buyer).count() == 1
