"""SLA figures from the timeline: each step's owner, time and met/breached, for one ticket and in aggregate.

A step is met when it ended by its deadline, breached after it, and a step the sweep escalated counts as
breached for the team that owned it (not for the supervisors it was escalated to).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dashboard.sla import sla_summary, ticket_sla
from tests.factories.desk import T0, open_complaint, open_logistics, open_return, reload, staff, staff_member
from tests.factories.tickets import ticket_build
from tickets.actors import Actor
from tickets.models import TicketEvent
from tickets.services import ticket_act
from tickets.services.deadlines import sweep_due
from tickets.services.engine import ticket_transition

H = timedelta(hours=1)
D = timedelta(days=1)
S = timedelta(seconds=1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    """One member in each team, so tickets are assigned as in real life."""
    return {code: staff(staff_member(code)) for code in ("operations", "warehouse", "logistics", "supervisors")}


def ended_step(ticket) -> TicketEvent:
    """The figures the last transition wrote for the step it ended."""
    return TicketEvent.objects.filter(ticket_id=ticket.pk, event_type="transition").last()


def test_a_step_done_before_its_deadline_is_met(clock, desk):
    ticket = open_return()
    clock.shift(47 * H)
    ticket_act(ticket=ticket, actor=desk["operations"], action="approve")

    step = ended_step(ticket)
    assert (step.step_state, step.step_department, step.step_met) == ("requested", "operations", True)
    assert (step.step_started_at, step.step_due_at, step.step_seconds) == (T0, T0 + 48 * H, 47 * 3600)


def test_a_step_done_after_its_deadline_is_breached(clock, desk):
    ticket = open_return()
    clock.shift(48 * H + S)  # nobody swept yet: the agent approves late
    ticket_act(ticket=ticket, actor=desk["operations"], action="approve")

    assert (ended_step(ticket).step_met, ended_step(ticket).step_seconds) == (False, 48 * 3600 + 1)


def test_an_escalated_step_counts_as_breached_for_the_team_that_owned_it(clock, desk):
    ticket = ticket_build("return", "received", goods_received=True)
    clock.shift(24 * H)  # the sweep runs on the second of the deadline, the warehouse acts in that second
    sweep_due()
    assert reload(ticket).department == "supervisors"

    ticket_act(ticket=reload(ticket), actor=desk["warehouse"], action="pass_inspection")

    step = ended_step(ticket)
    assert (step.step_state, step.step_department, step.step_met) == ("received", "warehouse", False)
    summary = sla_summary(since=T0, until=T0 + 2 * D)
    assert [(r["department"], r["breached"]) for r in summary] == [("warehouse", 1)]


def test_ticket_sla_lists_each_step_with_its_owner_time_and_outcome(clock, desk):
    ticket = open_return()
    clock.shift(10 * H)
    ticket = ticket_act(ticket=ticket, actor=desk["operations"], action="approve")  # met
    clock.shift(3 * D)
    ticket = ticket_act(
        ticket=ticket, actor=Actor.for_buyer(ticket.buyer), action="ship_back", carrier="YTO", tracking_number="1"
    )
    clock.shift(11 * D)  # the warehouse confirms receipt a day late
    ticket = ticket_act(ticket=ticket, actor=desk["warehouse"], action="receive")
    clock.shift(5 * H)

    figures = ticket_sla(ticket=reload(ticket))

    assert [(f.state, f.department, f.seconds, f.met) for f in figures] == [
        ("requested", "operations", 10 * 3600, True),
        ("awaiting_return", "", 3 * 24 * 3600, True),  # the buyer's step: no team
        ("return_in_transit", "warehouse", 11 * 24 * 3600, False),
        ("received", "warehouse", 5 * 3600, None),  # running, not late yet
    ]
    assert figures[0].started_at == T0 and figures[0].ended_at == T0 + 10 * H
    assert figures[-1].ended_at is None and figures[-1].due_at == T0 + (10 + 72 + 264 + 24) * H

    clock.shift(20 * H)  # now late
    assert ticket_sla(ticket=reload(ticket))[-1].met is False


def test_ticket_sla_of_an_ended_ticket_has_no_running_step(clock, desk):
    ticket = ticket_build("return", "refund_pending")
    clock.shift(H)
    ticket_transition(ticket=ticket, actor=Actor.system("payment gateway"), transition="complete_refund")

    figures = ticket_sla(ticket=reload(ticket))

    assert [(f.state, f.department, f.seconds, f.met) for f in figures] == [
        ("refund_pending", "operations", 3600, True)
    ]


@pytest.fixture
def two_days(clock, desk):
    """Steps ended on Monday 2 March and Tuesday 3 March (Shanghai time), and one long before."""
    old = open_return()
    clock.shift(-30 * D)
    early = open_complaint()
    clock.shift(H)
    ticket_act(ticket=early, actor=desk["operations"], action="acknowledge")  # outside the period
    clock.shift(30 * D - H)

    returned, complaint, lost = open_return(), open_complaint(), open_logistics()
    clock.shift(H)
    ticket_act(ticket=returned, actor=desk["operations"], action="approve")  # Mon 10:00, operations, met
    clock.shift(2 * H)
    ticket_act(
        ticket=complaint, actor=desk["operations"], action="acknowledge"
    )  # Mon 12:00, operations, 3 h of 2: breached
    clock.shift(12 * H)
    ticket_act(
        ticket=lost, actor=desk["logistics"], action="investigate"
    )  # Tue 00:00 Shanghai, logistics, 15 h of 24: met
    clock.shift(10 * H)
    ticket_act(ticket=old, actor=desk["operations"], action="approve")  # Tue 10:00, operations, 25 h of 48: met
    clock.shift(H)


def test_sla_summary_by_department_within_a_period(two_days):
    summary = sla_summary(since=T0 - H, until=T0 + 2 * D)

    assert [(r["department"], r["steps"], r["met"], r["breached"], r["met_percent"]) for r in summary] == [
        ("logistics", 1, 1, 0, 100.0),
        ("operations", 3, 2, 1, 66.7),
    ]
    ops = summary[1]
    assert ops["avg_seconds"] == round((1 + 3 + 25) * 3600 / 3)
    # The period's end is exclusive: Tuesday 10:00 is outside a period ending then.
    until_tuesday = sla_summary(since=T0 - H, until=T0 + 25 * H)
    assert [(r["department"], r["steps"]) for r in until_tuesday] == [("logistics", 1), ("operations", 2)]


def test_sla_summary_by_kind_and_by_day(two_days):
    by_kind = sla_summary(since=T0 - H, until=T0 + 2 * D, group_by=("kind",))
    assert [(r["kind"], r["steps"], r["met_percent"]) for r in by_kind] == [
        ("complaint", 1, 0.0),
        ("logistics", 1, 100.0),
        ("return", 2, 100.0),
    ]

    by_day = sla_summary(since=T0 - H, until=T0 + 2 * D, group_by=("day",))
    assert [(r["day"], r["steps"], r["met"], r["met_percent"]) for r in by_day] == [
        (date(2026, 3, 2), 2, 1, 50.0),
        (date(2026, 3, 3), 2, 2, 100.0),
    ]

    by_both = sla_summary(since=T0 - H, until=T0 + 2 * D, group_by=("department", "day"))
    assert [(r["department"], r["day"], r["steps"]) for r in by_both] == [
        ("logistics", date(2026, 3, 3), 1),
        ("operations", date(2026, 3, 2), 2),
        ("operations", date(2026, 3, 3), 1),
    ]


def test_sla_summary_of_a_period_without_steps_is_empty(two_days):
    assert sla_summary(since=T0 + 10 * D, until=T0 + 11 * D) == []
