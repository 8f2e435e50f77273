"""The demo's 30 days of history (desk/demo/history.py): tickets of every kind, shop and department spread over
the month, worked by the demo staff through the services with the clock moved, so that their timelines replay,
their steps' figures add up, some steps were late, and the dashboard shows a month that happened."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.selectors import period_bounds, sla_figures, volume_by_day
from desk.demo.history import HISTORY_DAYS, history_build, history_resolved_tickets, history_tickets
from desk.demo.scenarios import Demo
from desk.demo.setup import STAFF, users_ensure
from tickets.models import TicketEvent
from tickets.selectors import ticket_replayed_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(settings, tmp_path) -> Demo:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo = Demo(users=users_ensure())
    demo.shops_create()
    assert history_build(demo, tickets=50) > 40
    return demo


def test_the_demo_history_is_a_month_that_happened(history: Demo) -> None:
    """One build (a few seconds), every property checked on it."""
    spread_over_the_month()
    timelines_replay()
    step_figures_are_the_clocks()
    dashboard_shows_the_month()
    resolved_findable_and_second_run_adds_none(history)


def spread_over_the_month() -> None:
    tickets = list(history_tickets().select_related("shop"))
    now = timezone.now()

    opened = [ticket.created_at for ticket in tickets]
    assert min(opened) >= now - timedelta(days=HISTORY_DAYS + 1) and max(opened) < now
    assert len({moment.date() for moment in opened}) >= 15  # most days of the month, not all today
    assert set(Counter(ticket.kind for ticket in tickets)) == {"return", "exchange", "complaint", "logistics"}
    assert len({ticket.shop.channel for ticket in tickets}) == 4
    states = Counter(ticket.state for ticket in tickets)
    assert {"refunded", "closed"} <= set(states)
    assert sum(1 for ticket in tickets if ticket.closed_at is None) >= 1  # the recent ones are still open


def timelines_replay() -> None:
    for ticket in history_tickets():
        assert ticket_replayed_state(ticket=ticket) == ticket.state, ticket.number
        moments = list(ticket.events.order_by("pk").values_list("created_at", flat=True))
        assert moments == sorted(moments), ticket.number
        assert moments[0] == ticket.created_at
        if ticket.closed_at is not None:
            assert ticket.closed_at <= timezone.now()


def step_figures_are_the_clocks() -> None:
    steps = TicketEvent.objects.filter(ticket__in=history_tickets(), step_started_at__isnull=False)

    for step in steps:
        assert step.step_seconds == int((step.created_at - step.step_started_at).total_seconds())
        if step.step_due_at is not None and step.step_met is not None:
            assert step.step_met == (step.created_at <= step.step_due_at)
    met = Counter(steps.values_list("step_met", flat=True))
    assert met[True] > met[False] > 0
    # The staff who worked them are the demo's.
    actors = set(steps.values_list("actor_name", flat=True))
    assert {"ops1", "wh1", "lg1"} <= actors and actors & set(STAFF) == actors & {"ops1", "wh1", "lg1", "sup1"}


def dashboard_shows_the_month() -> None:
    days = volume_by_day(days=30)
    assert sum(1 for day in days if sum(day.counts.values())) >= 15

    since, until = period_bounds(days=30)
    figures = sla_figures(since=since, until=until)
    departments = {figure.key for figure in figures.by_department}
    assert {"operations", "warehouse", "logistics"} <= departments
    assert any(figure.breached for figure in figures.by_department)


def resolved_findable_and_second_run_adds_none(history: Demo) -> None:
    resolved = list(history_resolved_tickets())
    assert len(resolved) >= 25
    assert all(ticket.closed_at is not None and ticket.state != "cancelled" for ticket in resolved)
    before = history_tickets().count()

    assert history_build(history) == 0

    assert history_tickets().count() == before
