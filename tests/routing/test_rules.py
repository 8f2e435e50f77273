"""Supervisors' routing rules and deadline policies, as the team sees them on the tickets they get.

Rules are evaluated in explicit order (position, then creation), the first active match wins, and every
match field is tried matching and not matching. Policies: the rule's own, then shop, channel, global,
then the kind's default; each with its warning percentage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from routing.models import DeadlinePolicy, RoutingRule
from tests.factories.desk import T0, department, open_complaint, open_exchange, open_return, order_for, reload
from tests.factories.orders import ShopFactory
from tests.factories.tickets import ticket_build
from tickets.actors import Actor
from tickets.models import Priority, Ticket
from tickets.services import ticket_act

H = timedelta(hours=1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    """A special team supervisors route matching tickets to."""
    return department("special-desk", name="专席 Special desk")


def rule(name: str = "rule", **fields) -> RoutingRule:
    return RoutingRule.objects.create(name=name, **fields)


def policy(state: str = "requested", kind: str = "return", **fields) -> DeadlinePolicy:
    return DeadlinePolicy.objects.create(name=f"{kind} {state}", kind=kind, state=state, **fields)


def amount_return(amount: str) -> Callable[[], Ticket]:
    return lambda: open_return(order_for(paid=Decimal("2000.00")), requested_amount=Decimal(amount))


# match fields → tickets the rule must route to the desk, and tickets it must leave with the default team.
MATCH_CASES = {
    "kind": (
        {"kind": "exchange"},
        [open_exchange],
        [open_return, open_complaint],
    ),
    "reason_code": (
        {"reason_codes": ["quality_problem", "damaged"]},
        [lambda: open_return(reason_code="quality_problem"), lambda: open_return(reason_code="damaged")],
        [lambda: open_return(reason_code="seven_days_no_reason"), open_complaint],  # a complaint has no reason
    ),
    "complaint_category": (
        {"complaint_categories": ["delivery"]},
        [lambda: open_complaint(category="delivery")],
        [lambda: open_complaint(category="service_attitude"), open_return],
    ),
    "channel": (
        {"channel": "jd"},
        [lambda: open_return(order_for(channel="jd"))],
        [lambda: open_return(order_for(channel="tmall")), lambda: open_return(order_for(channel="pdd"))],
    ),
    "shop": (
        {"shop_code": "flagship"},
        [lambda: open_return(order_for(shop_code="flagship"))],
        [lambda: open_return(order_for(shop_code="outlet"))],  # same channel, another shop
    ),
    "amount_range": (
        {"min_amount": Decimal("100.00"), "max_amount": Decimal("500.00")},
        [amount_return("100.00"), amount_return("250.00"), amount_return("500.00")],
        [amount_return("99.99"), amount_return("500.01"), open_complaint],  # a complaint has no amount
    ),
    "amount_from_only": (
        {"min_amount": Decimal("1000.00")},
        [amount_return("1000.00")],
        [amount_return("999.99")],
    ),
    "buyer_tier": (
        {"buyer_tier": "vip"},
        [lambda: open_return(order_for(tier="vip")), lambda: open_complaint(order_for(tier="vip"))],
        [lambda: open_return(order_for(tier="regular")), lambda: open_return(order_for(tier="svip"))],
    ),
}


@pytest.mark.parametrize("case", list(MATCH_CASES))
def test_each_match_field_routes_matching_tickets_and_only_them(desk, case):
    fields, matching, other = MATCH_CASES[case]
    fields = dict(fields)
    if "shop_code" in fields:
        fields = {"shop": ShopFactory(code=fields.pop("shop_code"), channel="tmall")}
    rule("to the desk", department=desk, **fields)

    for open_ticket in matching:
        assert open_ticket().department == "special-desk"
    for open_ticket in other:
        assert open_ticket().department == "operations"


def test_a_rule_for_one_state_routes_that_step_only(desk):
    rule("receipts at the desk", kind="return", state="received", department=desk)

    assert open_return().department == "operations"
    in_transit = ticket_build("return", "return_in_transit")
    assert in_transit.department == "warehouse"
    received = ticket_act(ticket=in_transit, actor=Actor.integration("wms"), action="receive")
    assert received.department == "special-desk"


def test_a_rule_never_routes_a_buyer_step_or_an_end_state(desk):
    rule("all returns", kind="return", department=desk)

    assert ticket_build("return", "requested").department == "special-desk"
    waiting = ticket_build("return", "awaiting_return")
    assert (waiting.department, waiting.waiting_on) == (None, "buyer")
    assert ticket_build("return", "refunded").department is None


def test_rules_run_in_position_order_and_the_first_match_wins(desk):
    other = department("second-desk")
    rule("late", position=20, kind="return", department=other)
    rule("early", position=10, kind="return", department=desk)
    assert open_return().department == "special-desk"

    # Same position: the older rule first.
    late = RoutingRule.objects.get(name="late")
    late.position = 10
    late.save()  # as the admin does: routing's configuration snapshot reloads (a queryset update would not)
    assert open_return().department == "second-desk"


def test_inactive_rules_are_ignored(desk):
    rule("switched off", position=1, kind="return", department=department("closed-desk"), active=False)
    rule("live", position=2, kind="return", department=desk)

    assert open_return().department == "special-desk"


def test_the_first_match_decides_even_when_it_only_sets_priority(desk):
    rule("vip first", position=1, buyer_tier="vip", priority=Priority.HIGH)
    rule("returns to the desk", position=2, kind="return", department=desk)

    ticket = open_return(order_for(tier="vip"))
    assert (ticket.department, ticket.priority) == ("operations", Priority.HIGH)
    assert open_return().department == "special-desk"


def test_a_rule_raises_priority_but_never_lowers_it():
    rule("vip", buyer_tier="vip", priority=Priority.HIGH)
    rule("critical complaints calm down", position=200, kind="complaint", priority=Priority.LOW)

    assert open_return(order_for(tier="vip")).priority == Priority.HIGH
    assert open_return().priority == Priority.NORMAL
    critical = open_complaint(order_for(tier="vip"), severity=4)
    assert critical.priority == Priority.URGENT
    low = open_complaint(severity=1)
    assert low.priority == Priority.LOW


# -- deadline policies ---------------------------------------------------------------------------------


def due(ticket: Ticket) -> timedelta:
    return ticket.due_at - T0


def warn(ticket: Ticket) -> timedelta | None:
    return ticket.warn_at - T0 if ticket.warn_at else None


def test_without_policies_the_kinds_default_applies_with_a_warning_at_80_percent(clock):
    ticket = open_return()
    assert (due(ticket), warn(ticket)) == (48 * H, 48 * H * 0.8)


def test_policy_precedence_shop_then_channel_then_global_then_default(clock):
    shop = ShopFactory(code="flagship", channel="tmall")
    policy(duration=30 * H)  # global
    assert due(open_return(order_for(shop=shop))) == 30 * H
    policy(channel="jd", duration=5 * H)  # another channel
    policy(channel="tmall", duration=20 * H)
    assert due(open_return(order_for(shop=shop))) == 20 * H
    policy(shop=ShopFactory(code="outlet", channel="tmall"), duration=3 * H)  # another shop
    policy(shop=shop, duration=1 * H, active=False)
    policy(shop=shop, duration=10 * H)
    assert due(open_return(order_for(shop=shop))) == 10 * H
    # Other kinds and states keep their defaults.
    assert due(open_exchange(order_for(shop=shop))) == 48 * H
    assert due(open_complaint(order_for(shop=shop))) == 2 * H


def test_a_rules_policy_wins_over_shop_channel_and_global_for_the_tickets_it_matches(clock):
    order = order_for(tier="vip", shop_code="flagship")
    policy(shop=order.shop, duration=10 * H)
    fast = policy(duration=4 * H, warn_at_percent=25)
    rule("vip fast lane", buyer_tier="vip", deadline_policy=fast)

    ticket = open_return(order)
    assert (due(ticket), warn(ticket)) == (4 * H, 1 * H)
    regular = open_return(order_for(tier="regular", shop_code="flagship"))
    assert due(regular) == 10 * H


def test_a_policy_named_by_a_rule_is_that_rules_lane_only(clock):
    fast = policy(duration=4 * H)  # no shop, no channel: it would otherwise be the global policy
    rule("vip fast lane", buyer_tier="vip", deadline_policy=fast)

    assert due(open_return(order_for(tier="vip"))) == 4 * H
    assert due(open_return(order_for(tier="regular"))) == 48 * H  # the kind's default, not the VIP lane


def test_a_rules_policy_for_another_step_leaves_the_usual_precedence(clock):
    order = order_for(tier="vip", shop_code="flagship")
    policy(shop=order.shop, duration=10 * H)
    rule("vip receipts", buyer_tier="vip", deadline_policy=policy(state="received", duration=2 * H))

    assert due(open_return(order)) == 10 * H
    received = ticket_build("return", "received", order=order_for(tier="vip"))
    assert due(received) == 2 * H


def test_a_policys_own_warning_percentage(clock):
    order = order_for(channel="pdd")
    policy(channel="pdd", duration=10 * H, warn_at_percent=50)
    policy(kind="complaint", state="open", duration=4 * H, warn_at_percent=100)

    assert warn(open_return(order)) == 5 * H
    # 100 %: no warning before the deadline itself.
    assert (due(open_complaint(order)), warn(open_complaint(order))) == (4 * H, None)


def test_a_policy_sets_the_clock_of_a_buyer_step_too(clock):
    policy(state="awaiting_return", duration=timedelta(days=3))

    waiting = reload(ticket_build("return", "awaiting_return"))
    assert (waiting.waiting_on, due(waiting)) == ("buyer", timedelta(days=3))
