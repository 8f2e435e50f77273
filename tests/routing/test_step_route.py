"""Routing decides from facts alone: no ticket, no ticket table, no tickets module.

``step_route`` and ``assignee_pick`` are given a ``TicketFacts`` and a ``Workload`` written here (what the ticket
engine passes is tests/routing/test_rules.py's and test_assignment.py's business): the rules, policies, overflow
and the choice of person follow from those, and routing reads no ticket row to get there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kefu.core.vocabulary import BUYER
from routing.config import BUYER_TIER, CHANNEL, REASON_CODE
from routing.models import DeadlinePolicy, RoutingRule
from routing.services import DEFAULT_WARN_PERCENT, Route, TicketFacts, assignee_pick, facts_wanted, step_route
from tests.factories.desk import department, staff_member
from tests.factories.orders import ShopFactory

H = timedelta(hours=1)

pytestmark = pytest.mark.django_db


@dataclass
class Workload:
    """Open work as the test says it is; remembers what routing asked."""

    backlog: dict[str, int] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def unassigned_backlog(self, department: str) -> int:
        self.asked.append(f"backlog {department}")
        return self.backlog.get(department, 0)

    def open_ticket_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        self.asked.append("counts")
        return {pk: self.counts[pk] for pk in user_ids if pk in self.counts}


def facts(**fields) -> TicketFacts:
    defaults = {"kind": "return", "state": "requested", "shop_id": 1, "channel": "tmall", "buyer_tier": "regular"}
    return TicketFacts(**{**defaults, **fields})


def test_without_rules_the_steps_default_owner_and_deadline_hold():
    route = step_route(facts(), owner="operations", deadline=48 * H, workload=Workload())

    assert route == Route(department="operations", priority=None, deadline=48 * H, warn_percent=DEFAULT_WARN_PERCENT)


def test_a_buyers_step_has_a_clock_but_no_department_and_an_end_step_neither():
    assert step_route(facts(), owner=BUYER, deadline=7 * 24 * H, workload=Workload()).department is None
    assert step_route(facts(), owner=BUYER, deadline=7 * 24 * H, workload=Workload()).deadline == 7 * 24 * H
    assert step_route(facts(), owner="", deadline=None, workload=Workload()) == Route(
        department=None, priority=None, deadline=None, warn_percent=DEFAULT_WARN_PERCENT
    )


def test_a_rule_matching_the_facts_routes_raises_priority_and_brings_its_policy():
    desk = department("vip-desk", name="VIP desk")
    lane = DeadlinePolicy.objects.create(
        name="VIP lane", kind="return", state="requested", duration=4 * H, warn_at_percent=50
    )
    RoutingRule.objects.create(
        name="VIP refunds over 500",
        buyer_tier="vip",
        channel="jd",
        reason_codes=["quality_problem"],
        min_amount=Decimal("500.00"),
        department=desk,
        priority=30,
        deadline_policy=lane,
    )
    assert facts_wanted() == frozenset({CHANNEL, BUYER_TIER, REASON_CODE})
    vip = facts(buyer_tier="vip", channel="jd", reason_code="quality_problem", amount=Decimal("800.00"))

    assert step_route(vip, owner="operations", deadline=48 * H, workload=Workload()) == Route(
        department="vip-desk", priority=30, deadline=4 * H, warn_percent=50
    )
    for other in (
        facts(buyer_tier="regular", channel="jd", reason_code="quality_problem", amount=Decimal("800.00")),
        facts(buyer_tier="vip", channel="tmall", reason_code="quality_problem", amount=Decimal("800.00")),
        facts(buyer_tier="vip", channel="jd", reason_code="damaged", amount=Decimal("800.00")),
        facts(buyer_tier="vip", channel="jd", reason_code="quality_problem", amount=Decimal("499.99")),
        facts(buyer_tier="vip", channel="jd", reason_code="quality_problem", amount=None),
    ):
        route = step_route(other, owner="operations", deadline=48 * H, workload=Workload())
        assert (route.department, route.priority, route.deadline) == ("operations", None, 48 * H), other


def test_policies_by_shop_then_channel_then_global_from_the_facts():
    shop = ShopFactory(channel="jd")
    DeadlinePolicy.objects.create(name="global", kind="return", state="requested", duration=40 * H)
    DeadlinePolicy.objects.create(name="jd", kind="return", state="requested", channel="jd", duration=30 * H)
    DeadlinePolicy.objects.create(name="shop", kind="return", state="requested", shop=shop, duration=20 * H)

    def deadline(**fields) -> timedelta | None:
        return step_route(facts(**fields), owner="operations", deadline=48 * H, workload=Workload()).deadline

    assert deadline(shop_id=shop.pk, channel="jd") == 20 * H
    assert deadline(shop_id=shop.pk + 1, channel="jd") == 30 * H
    assert deadline(shop_id=shop.pk + 1, channel="tmall") == 40 * H
    assert deadline(kind="exchange", shop_id=shop.pk, channel="jd") == 48 * H  # the step's own default


def test_overflow_asks_the_workload_only_for_work_new_to_the_team():
    pool = department("ops-surge", name="Surge pool")
    department("operations", overflow_threshold=2, backup=pool)
    swamped = Workload(backlog={"operations": 2})

    assert step_route(facts(), owner="operations", deadline=H, workload=swamped).department == "ops-surge"
    assert step_route(
        facts(), owner="operations", deadline=H, workload=Workload(backlog={"operations": 1})
    ).department == ("operations")
    held = step_route(facts(department="operations"), owner="operations", deadline=H, workload=swamped)
    assert held.department == "operations"
    assert swamped.asked == ["backlog operations"]  # the ticket the team holds did not ask


def test_the_person_is_chosen_from_the_workload_without_reading_tickets():
    a = staff_member("operations", username="a")
    b = staff_member("operations", username="b")
    staff_member("operations", username="full", cap=1)
    load = Workload(counts={a.pk: 3, b.pk: 1})
    load.counts[type(a).objects.get(username="full").pk] = 1

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        chosen = assignee_pick("operations", workload=load)

    assert chosen == b
    assert load.asked == ["counts"]
    assert not [q for q in queries.captured_queries if "tickets_ticket" in q["sql"]]
