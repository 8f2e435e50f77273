"""Surge on PostgreSQL with racing threads (tests/racing.py): two watches at once raise one alert; tickets opened
at once never put a reinforcement over its cap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from routing.models import Department
from surge.models import SurgeAlert
from surge.selectors import queues_watch
from surge.services.alerts import surge_alert_raise
from surge.services.reinforcements import reinforcement_add
from tests.factories.desk import open_complaint, staff, staff_member
from tests.markers import requires_postgres
from tests.racing import race
from tests.surge.conftest import acknowledge, arrivals
from tickets.models import Ticket

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_watches_racing_raise_one_alert_per_department(clock, surge_settings):
    opened = arrivals(clock, count=16, over=timedelta(hours=2))
    acknowledge(opened[:4])
    now = timezone.now()

    def watch(_i: int):
        return next(w for w in queues_watch(now=now) if w.code == "operations")

    outcomes = race(4, prepare=watch, act=lambda _i, w: surge_alert_raise(watch=w, now=now))

    assert [o.error for o in outcomes] == [None] * 4, [o.trace for o in outcomes]
    assert len([o for o in outcomes if o.value is not None]) == 1
    assert SurgeAlert.objects.filter(department__code="operations").count() == 1


def test_tickets_opened_at_once_never_put_a_reinforcement_over_its_cap(clock):
    boss = staff(staff_member("supervisors", username="boss", on_duty=False))
    wang = staff_member("warehouse", username="wang")
    reinforcement_add(
        actor=boss,
        user=wang,
        department=Department.objects.get(code="operations"),
        ends_at=timezone.now() + timedelta(hours=2),
        cap=2,
        reason="wave",
    )

    outcomes = race(6, prepare=lambda _i: None, act=lambda _i, _p: open_complaint())

    assert [o.error for o in outcomes] == [None] * 6, [o.trace for o in outcomes]
    assert Ticket.objects.filter(assignee=wang).count() == 2
    assert Ticket.objects.filter(department="operations", assignee__isnull=True).count() == 4
