"""The projection of a queue (surge.projection): pure arithmetic over plain numbers, earliest deadline first."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surge.projection import project

deadlines = st.lists(st.floats(min_value=0.02, max_value=6, allow_nan=False), max_size=60).map(sorted)
rates = st.floats(min_value=0, max_value=120, allow_nan=False)


def test_a_queue_served_faster_than_it_falls_due_breaches_nothing():
    result = project(deadlines=[1, 2, 3, 4], arrivals_per_hour=0, handled_per_hour=2, horizon_hours=4)

    assert result.breaches == 0
    assert result.hours_to_first_breach is None
    assert result.served == 4


def test_ten_tickets_due_in_two_hours_with_three_an_hour_leave_four_breaching_at_two_hours():
    result = project(deadlines=[2.0] * 10, arrivals_per_hour=0, handled_per_hour=3, horizon_hours=4)

    assert result.served == 6
    assert result.at_risk == (6, 7, 8, 9)  # the last in the queue's order (priority breaks the tie)
    assert result.at_risk_hours == (2.0,) * 4
    assert result.hours_to_first_breach == 2.0
    assert result.backlog_end == 0  # breached tickets are escalated away: they leave the queue


def test_the_earliest_deadlines_are_served_first():
    # One an hour: the ticket due at 0.5 h cannot be reached (the first is done at 1 h); the others can.
    result = project(deadlines=[0.5, 1.5, 2.5, 3.5], arrivals_per_hour=0, handled_per_hour=1, horizon_hours=4)

    assert result.at_risk == (0,)
    assert result.at_risk_hours == (0.5,)


def test_tickets_due_after_the_horizon_are_not_counted():
    result = project(deadlines=[5, 6], arrivals_per_hour=0, handled_per_hour=0, horizon_hours=4)

    assert result.breaches == 0
    assert result.backlog_end == 2


def test_arrivals_with_short_deadlines_push_the_queue_past_its_deadlines():
    quiet = project(deadlines=[3.0] * 6, arrivals_per_hour=0, handled_per_hour=2, horizon_hours=4)
    busy = project(deadlines=[3.0] * 6, arrivals_per_hour=6, handled_per_hour=2, horizon_hours=4, new_step_hours=1.0)

    assert quiet.breaches == 0
    # Each arrival is due in an hour, before the open tickets: served first, they leave the open ones to breach.
    assert len(busy.at_risk) > 0
    assert busy.arrivals_at_risk > 0
    assert busy.hours_to_first_breach is not None and busy.hours_to_first_breach <= 3.0


def test_a_closed_department_serves_nobody():
    # Open only for the first hour: two served, the rest (due at 3 h) breach.
    open_minutes = [minute < 60 for minute in range(240)]
    result = project(
        deadlines=[3.0] * 5, arrivals_per_hour=0, handled_per_hour=2, horizon_hours=4, open_minutes=open_minutes
    )

    assert result.served == 2
    assert len(result.at_risk) == 3


def test_negative_rates_are_refused():
    with pytest.raises(ValueError):
        project(deadlines=[], arrivals_per_hour=-1, handled_per_hour=1, horizon_hours=4)


@settings(max_examples=200, deadline=None)
@given(deadlines=deadlines, arrivals=rates, handled=rates, extra=st.floats(min_value=0, max_value=60))
def test_more_throughput_never_projects_more_breaches(deadlines, arrivals, handled, extra):
    slower = project(
        deadlines=deadlines, arrivals_per_hour=arrivals, handled_per_hour=handled, horizon_hours=4, new_step_hours=2
    )
    faster = project(
        deadlines=deadlines,
        arrivals_per_hour=arrivals,
        handled_per_hour=handled + extra,
        horizon_hours=4,
        new_step_hours=2,
    )

    assert faster.breaches <= slower.breaches


@settings(max_examples=200, deadline=None)
@given(deadlines=deadlines, handled=rates)
def test_every_ticket_is_served_breached_or_still_waiting_and_breaches_fall_within_the_horizon(deadlines, handled):
    result = project(deadlines=deadlines, arrivals_per_hour=0, handled_per_hour=handled, horizon_hours=4)

    assert result.served + len(result.at_risk) + result.backlog_end == len(deadlines)
    assert len(set(result.at_risk)) == len(result.at_risk)
    assert all(hours <= 4 for hours in result.at_risk_hours)
    assert list(result.at_risk_hours) == sorted(result.at_risk_hours)
    # Nobody is served past the capacity of four hours.
    assert result.served <= handled * 4 + 1


@settings(max_examples=100, deadline=None)
@given(deadlines=deadlines)
def test_nobody_working_breaches_every_ticket_due_within_the_horizon(deadlines):
    result = project(deadlines=deadlines, arrivals_per_hour=0, handled_per_hour=0, horizon_hours=4)

    assert len(result.at_risk) == len([due for due in deadlines if due <= 4])
