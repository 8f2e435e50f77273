"""极速退款 rules: what they approve on open, what they leave to people, and their backtest."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from risk.models import FastRefundRule, RiskPolicy
from risk.services.fast_refunds import FAST_REFUND_ACTOR, fast_refund_apply, rule_backtest
from risk.services.profiles import buyer_profile_refresh
from tests.factories.desk import open_return, reload
from tests.factories.orders import BuyerFactory
from tests.factories.tickets import order_with_line, ticket_build
from tests.risk.history import days_ago, past_ticket, refund_of, shop_and_buyer
from tickets.actors import Actor
from tickets.models import EventType, ReasonCode, Ticket, TicketEvent
from tickets.services.engine import event_record
from tickets.wording import event_reason

pytestmark = pytest.mark.django_db


def rule_for(shop, **fields) -> FastRefundRule:
    values = {"name": "小额极速退款", "enabled": True, "max_amount": Decimal("60.00"), "refund_only": True}
    return FastRefundRule.objects.create(shop=shop, **{**values, **fields})


def opened(buyer, amount: str = "50.00", **fields) -> Ticket:
    order = order_with_line(shop=buyer.shop, buyer=buyer)
    return open_return(order, refund_only=True, requested_amount=Decimal(amount), **fields)


def test_a_small_clean_refund_only_request_is_approved_on_open_by_the_rule() -> None:
    shop, buyer = shop_and_buyer()
    rule = rule_for(shop)
    ticket = opened(buyer)

    assert fast_refund_apply(ticket_id=ticket.pk) == rule

    ticket = reload(ticket)
    assert ticket.state == "refund_pending" and ticket.approved_amount == Decimal("50.00")
    [decision] = TicketEvent.objects.filter(ticket_id=ticket.pk, transition="approve")
    assert decision.actor_name == FAST_REFUND_ACTOR and decision.payload["rule_id"] == rule.pk
    assert event_reason(decision).startswith("Automatic decision by rule “小额极速退款”: requested ¥50.00")


@pytest.mark.parametrize(
    ("rule_fields", "amount", "why"),
    [
        ({"max_amount": Decimal("40.00")}, "40.01", "above the rule's amount"),
        ({"enabled": False}, "10.00", "a rule not enabled"),
        ({"refund_only": True}, None, "a return with goods back"),
        ({"reasons": "not_as_described"}, "10.00", "another reason"),
    ],
)
def test_a_request_outside_the_rule_stays_with_the_staff(rule_fields, amount, why) -> None:
    shop, buyer = shop_and_buyer()
    reasons = rule_fields.pop("reasons", None)
    rule = rule_for(shop, **rule_fields)
    if reasons:
        rule.reasons.set(ReasonCode.objects.filter(code=reasons))
    if amount is None:
        ticket = open_return(order_with_line(shop=shop, buyer=buyer), requested_amount=Decimal("10.00"))
    else:
        ticket = opened(buyer, amount)
    assert fast_refund_apply(ticket_id=ticket.pk) is None, why
    assert reload(ticket).state == "requested"


def test_a_buyer_with_a_refund_in_the_last_90_days_is_not_clean() -> None:
    shop, buyer = shop_and_buyer()
    rule_for(shop)
    refund_of(past_ticket(buyer, days=30, state="refunded"), days=29)
    assert fast_refund_apply(ticket_id=opened(buyer).pk) is None
    rule_for(shop, name="宽松", max_refunds_90d=1)
    assert fast_refund_apply(ticket_id=opened(buyer).pk) is not None


def test_a_flagged_buyers_request_is_never_approved_by_a_rule() -> None:
    shop, buyer = shop_and_buyer()
    RiskPolicy.objects.create(shop=shop, serial_returns_30d=1)
    rule_for(shop, max_refunds_90d=10)
    ticket = opened(buyer)
    buyer_profile_refresh(buyer_id=buyer.pk)  # one return this month: a serial returner in this shop
    assert fast_refund_apply(ticket_id=ticket.pk) is None
    assert reload(ticket).state == "requested"
    assert not TicketEvent.objects.filter(ticket_id=ticket.pk, actor_name=FAST_REFUND_ACTOR).exists()


def test_the_backtest_counts_what_the_rule_would_have_approved_in_90_days_and_the_disputes() -> None:
    shop, buyer = shop_and_buyer()
    rule = rule_for(shop, enabled=False)
    # Would have been approved: three (¥50, ¥40, ¥60), of which two later turned out disputed.
    quiet = past_ticket(BuyerFactory(shop=shop), days=10, refund_only=True, requested_amount=Decimal("50.00"))
    escalated = past_ticket(BuyerFactory(shop=shop), days=20, refund_only=True, requested_amount=Decimal("40.00"))
    event_record(ticket=escalated, actor=Actor.system("deadline sweep"), event_type=EventType.ESCALATION)
    complained = past_ticket(BuyerFactory(shop=shop), days=30, refund_only=True, requested_amount=Decimal("60.00"))
    complaint = ticket_build("complaint", order=complained.order, lines=[])
    Ticket.objects.filter(pk=complaint.pk).update(created_at=days_ago(25))
    # Would not: too much, goods back, older than 90 days, another shop, a buyer refunded shortly before.
    past_ticket(BuyerFactory(shop=shop), days=5, refund_only=True, requested_amount=Decimal("80.00"))
    past_ticket(BuyerFactory(shop=shop), days=5, requested_amount=Decimal("30.00"))
    past_ticket(BuyerFactory(shop=shop), days=95, refund_only=True, requested_amount=Decimal("30.00"))
    _other_shop, stranger = shop_and_buyer()
    past_ticket(stranger, days=5, refund_only=True, requested_amount=Decimal("30.00"))
    refund_of(past_ticket(buyer, days=50, state="refunded"), days=49)
    past_ticket(buyer, days=40, refund_only=True, requested_amount=Decimal("30.00"))

    with CaptureQueriesContext(connection) as queries:
        backtest = rule_backtest(rule=rule)

    assert (backtest.days, backtest.tickets, backtest.amount, backtest.disputed) == (90, 3, Decimal("150.00"), 2)
    assert len(queries) == 2  # the rule's reasons, then one aggregate over the shop's 90 days
    assert quiet.pk
