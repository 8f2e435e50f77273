"""The queue watch on the database (surge.selectors.queues_watch): complaints arriving over two hours, some
acknowledged, projected forward with the real figures; in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from routing.models import Department
from surge.projection import project
from surge.selectors import queues_watch
from tests.factories.calendars import office_calendar
from tests.surge.conftest import acknowledge, arrivals

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def operations(now, **kwargs):
    return next(watch for watch in queues_watch(now=now, **kwargs) if watch.code == "operations")


def test_arrivals_handled_and_backlog_come_from_the_steps_started_and_ended_in_the_window(clock, surge_settings):
    opened = arrivals(clock, count=16, over=2 * HOUR)  # complaints: operations has 2 h to acknowledge each
    acknowledge(opened[:4])  # four first steps ended now; each starts a 24 h step, still in operations

    watch = operations(timezone.now())

    # Steps started in the window: 16 complaints opened, 4 acknowledgements (new steps) → 20 in 2 h.
    assert watch.arrivals_per_hour == 10.0
    assert watch.handled_per_hour == 2.0  # 4 steps ended in 2 h (operations works around the clock)
    assert watch.backlog == 16
    assert watch.overdue == 0
    assert watch.new_step_hours == 2.0  # the median time recent arrivals were given
    # Due within 4 h: the 12 complaints not acknowledged, earliest first.
    assert [t.id for t in watch.due_soon] == [t.pk for t in opened[4:]]


def test_the_projection_is_the_pure_one_over_the_figures_read(clock, surge_settings):
    opened = arrivals(clock, count=16, over=2 * HOUR)
    acknowledge(opened[:4])

    now = timezone.now()
    watch = operations(now)
    expected = project(
        deadlines=[(t.due_at - now).total_seconds() / 3600 for t in watch.due_soon],
        arrivals_per_hour=10.0,
        handled_per_hour=2.0,
        horizon_hours=4,
        new_step_hours=2.0,
    )

    assert watch.projection == expected
    # Two an hour cannot acknowledge twelve complaints due within two hours: most breach, the earliest first
    # served, so the at-risk ones are later in the queue.
    assert len(watch.at_risk) >= 8
    at_risk_ids = [ticket.id for ticket, _hours in watch.at_risk]
    assert opened[4].pk not in at_risk_ids
    assert set(at_risk_ids) <= {t.pk for t in opened[4:]}
    assert watch.projection.hours_to_first_breach is not None
    assert watch.projection.hours_to_first_breach < 2


def test_a_department_without_recent_work_hours_has_no_projection(clock, surge_settings):
    Department.objects.filter(code="operations").update(calendar=office_calendar())
    arrivals(clock, count=3, over=HOUR)

    # Monday 09:00: the office just opened, no work hours in the last two: throughput unknown, nothing projected.
    watch = operations(timezone.now())
    assert watch.handled_per_hour is None
    assert watch.projection is None
    assert watch.breaches == 0


@pytest.mark.parametrize("count", [5, 40])
def test_the_watch_reads_a_fixed_number_of_queries(clock, surge_settings, django_assert_num_queries, count):
    opened = arrivals(clock, count=count, over=2 * HOUR)
    acknowledge(opened[:2])

    now = timezone.now()
    queues_watch(now=now)  # routing's configuration snapshots loaded once per process
    with django_assert_num_queries(4):
        watches = queues_watch(now=now)
    assert sum(w.backlog for w in watches) == count
