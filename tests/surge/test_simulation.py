"""The simulator with the real desk: routing rules, deadline policies, overflow and business-hours calendars from
the database decide where the simulated work goes and when it is due; the staff search removes breaches; nothing
is written; a day of 50,000 tickets plays in seconds.

Plans start on Wednesday 2026-11-11 00:00 in Shanghai (not a holiday), with evenly spread arrivals unless said.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing.models import DeadlinePolicy, Department, RoutingRule
from surge.simulation.plan import PlanError, plan_from_mapping
from surge.simulation.run import plan_simulate
from tests.factories.calendars import office_calendar
from tests.factories.orders import ShopFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def plan(streams, staff, **settings):
    return plan_from_mapping(
        {"start": "2026-11-11", "arrivals": "even", "after_hours": 0, "streams": streams, "staff": staff, **settings}
    )


def hourly(*counts: float) -> list[float]:
    """Counts for the first hours, nothing after (24 values)."""
    return [*counts, *([0] * (24 - len(counts)))]


def test_returns_walk_operations_warehouse_operations_by_the_default_routing():
    sim = plan_simulate(plan([{"kind": "return", "hourly": hourly(6)}], {"operations": 1, "warehouse": 1}))
    out = sim.outcome

    assert sum(out.entered["operations"]) == 12  # review and refund of each of the 6
    assert sum(out.entered["warehouse"]) == 6
    assert out.finished == 6 and out.total_breaches == 0
    assert sim.needed == {"operations": [1] * 24, "warehouse": [1] * 24}


def test_a_routing_rule_in_the_database_sends_jd_returns_to_the_supervisors():
    RoutingRule.objects.create(
        name="JD returns to supervisors",
        kind="return",
        state="requested",
        channel="jd",
        department=Department.objects.get(code="supervisors"),
    )
    streams = [
        {"kind": "return", "hourly": hourly(4), "channel": "jd"},
        {"kind": "return", "hourly": hourly(3), "channel": "tmall"},
    ]
    out = plan_simulate(plan(streams, {"operations": 2, "warehouse": 2, "supervisors": 1})).outcome

    assert sum(out.entered["supervisors"]) == 4  # the JD reviews
    assert sum(out.entered["operations"]) == 3 + 7  # the Tmall reviews, and every refund
    assert sum(out.entered["warehouse"]) == 7


def test_a_shops_rule_matches_the_plans_shop_by_its_code():
    shop = ShopFactory(code="spruce-home", channel="tmall")
    RoutingRule.objects.create(
        name="Spruce reviews in the warehouse",
        kind="return",
        state="requested",
        shop=shop,
        department=Department.objects.get(code="warehouse"),
    )
    out = plan_simulate(
        plan([{"kind": "return", "hourly": hourly(5), "shop": "spruce-home"}], {"operations": 1, "warehouse": 1})
    ).outcome

    assert sum(out.entered["warehouse"]) == 10 and sum(out.entered["operations"]) == 5


def test_an_unknown_shop_is_a_plan_error():
    with pytest.raises(PlanError, match="no-such-shop"):
        plan_simulate(plan([{"kind": "return", "hourly": hourly(1), "shop": "no-such-shop"}], {}))


def test_a_deadline_policy_in_the_database_makes_slow_reviews_breach():
    """Six reviews arriving at 5, 15, …, 55 minutes past 00:00 (even spread), 15 minutes each, one person: the
    i-th is done at 20 + 15 i. The default 48 h never runs out; a policy of 30 minutes (due at 35 + 10 i) does for
    i ≥ 4 (done 80, due 75; done 95, due 85): two breaches."""
    streams = [{"kind": "return", "hourly": hourly(6), "path": ["requested"]}]
    staff = {"operations": 1}
    handling = {"return": {"requested": 15}}
    assert plan_simulate(plan(streams, staff, handling_minutes=handling)).outcome.total_breaches == 0

    DeadlinePolicy.objects.create(name="Double 11", kind="return", state="requested", duration=timedelta(minutes=30))
    out = plan_simulate(plan(streams, staff, handling_minutes=handling, after_hours=3)).outcome

    assert [(b.arrived, b.due) for b in out.breach_list] == [(45.0, 75.0), (55.0, 85.0)]


def test_a_business_hours_calendar_moves_a_night_complaints_deadline_to_the_morning():
    """A complaint opened at 00:30 must be answered within 2 hours (an internal SLA). Nobody works before 09:00:
    around the clock it is due at 02:30 and breaches; on an office calendar (09:00–12:00) it is due at 11:00 and
    the morning's first person answers it in time."""
    streams = [{"kind": "complaint", "hourly": hourly(1), "path": ["open"]}]
    staff = {"operations": [0] * 9 + [1] * 15}

    before = plan_simulate(plan(streams, staff), search=False).outcome
    assert [b.due for b in before.breach_list] == [150.0]

    office_calendar("operations")
    after = plan_simulate(plan(streams, staff), search=False).outcome
    assert after.total_breaches == 0
    assert after.handled["operations"][9] == 1


def test_a_calendar_never_moves_a_buyers_promise():
    """Return review (``requested``, 48 h → approved for the buyer) counts calendar time even on a calendar."""
    office_calendar("operations")
    streams = [{"kind": "return", "hourly": hourly(1), "path": ["requested"]}]
    DeadlinePolicy.objects.create(name="short", kind="return", state="requested", duration=timedelta(hours=2))
    out = plan_simulate(plan(streams, {"operations": [0] * 9 + [1] * 15}, after_hours=12), search=False).outcome

    assert [b.due for b in out.breach_list] == [150.0]  # 00:30 + 2 h, though the office is closed


def test_overflow_sends_new_work_to_the_backup_pool_past_the_threshold():
    """Operations has nobody and an overflow threshold of 3 waiting tickets, backed up by the supervisors: the
    first 3 reviews wait in operations, the rest go to the supervisors."""
    operations = Department.objects.get(code="operations")
    operations.overflow_threshold = 3
    operations.backup = Department.objects.get(code="supervisors")
    operations.save()
    streams = [{"kind": "return", "hourly": hourly(8), "path": ["requested"]}]
    out = plan_simulate(plan(streams, {"operations": 0, "supervisors": 0}), search=False).outcome

    assert out.entered["operations"][0] == 3
    assert out.entered["supervisors"][0] == 5


def test_the_staff_search_removes_the_breaches():
    """60 complaints an hour for 4 hours, 5 minutes for the first answer (due within 2 h): one person handles 12
    an hour and falls behind; the search finds the people that answer every one in time."""
    streams = [{"kind": "complaint", "hourly": hourly(60, 60, 60, 60), "path": ["open"]}]
    handling = {"complaint": {"open": 5}}
    sim = plan_simulate(plan(streams, {"operations": 1}, handling_minutes=handling, after_hours=24))

    assert sim.outcome.total_breaches > 100
    assert sim.reached and sim.needed_outcome.total_breaches == 0
    needed = sim.needed["operations"]
    # 240 × 5 = 1,200 minutes of work, 20 person-hours, done by the two hours after the last arrival at the latest.
    assert 20 <= sum(needed[:6]) <= 26
    assert needed[6:] == [1] * 18  # no more people where there is no work


def test_a_target_lets_the_search_stop_earlier():
    streams = [{"kind": "complaint", "hourly": hourly(60, 60, 60, 60), "path": ["open"]}]
    handling = {"complaint": {"open": 5}}
    strict = plan_simulate(plan(streams, {"operations": 1}, handling_minutes=handling, after_hours=24))
    loose = plan_simulate(plan(streams, {"operations": 1}, handling_minutes=handling, after_hours=24, breach_target=60))

    assert loose.needed_outcome.total_breaches <= 60
    assert sum(loose.needed["operations"]) < sum(strict.needed["operations"])


def test_a_step_longer_than_its_deadline_cannot_be_staffed_away():
    DeadlinePolicy.objects.create(name="tiny", kind="complaint", state="open", duration=timedelta(minutes=3))
    streams = [{"kind": "complaint", "hourly": hourly(2), "path": ["open"]}]
    sim = plan_simulate(plan(streams, {"operations": 1}, handling_minutes={"complaint": 5}, after_hours=2))

    assert not sim.reached
    assert sim.needed_outcome.total_breaches == 2
    assert sim.needed["operations"] == [1] * 24


def test_the_simulator_writes_nothing():
    streams = [{"kind": k, "hourly": hourly(5, 5)} for k in ("return", "exchange", "complaint", "logistics")]
    with CaptureQueriesContext(connection) as queries:
        plan_simulate(plan(streams, {"operations": 1, "warehouse": 1, "logistics": 1}))

    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE"))]
    assert writes == []
    assert Ticket.objects.count() == 0


def test_a_day_of_fifty_thousand_tickets_plays_in_seconds():
    office_calendar("operations", "warehouse")
    streams = [
        {"kind": "return", "total": 30000, "profile": "double11"},
        {"kind": "complaint", "total": 8000, "profile": "double11"},
        {"kind": "exchange", "total": 6000, "profile": "double11"},
        {"kind": "logistics", "total": 6000, "profile": "double11"},
    ]
    day = plan(streams, {"operations": 150, "warehouse": 80, "logistics": 40}, arrivals="poisson", seed=11)
    # CPU time of this process: what the simulation costs, not how busy the machine running the tests is.
    began = time.process_time()
    sim = plan_simulate(day, search=False)
    seconds = time.process_time() - began

    assert 49_000 < sim.arrivals < 51_000
    assert seconds < 10, seconds
