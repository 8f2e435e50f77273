"""Supervisors alerted when a queue is projected to breach (surge.services.alerts): past the threshold only, at most
once per department within the cooldown, recorded, with the projection and the tickets at risk in the message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Audience, Event, Notification
from routing.models import StaffMember
from surge.models import SurgeAlert
from surge.services.alerts import surge_watch
from surge.tasks import watch_queues_task
from tests.factories.desk import staff_member
from tests.surge.conftest import acknowledge, arrivals

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def surging(clock, surge_settings):
    """Operations: 16 complaints in two hours, 4 acknowledged; a supervisor on duty with an email."""
    boss = staff_member("supervisors", username="boss")
    boss.email = "boss@shop.example"
    boss.save(update_fields=["email"])
    StaffMember.objects.filter(user=boss).update(on_duty=True)
    opened = arrivals(clock, count=16, over=2 * HOUR)
    acknowledge(opened[:4])
    return opened


def test_projected_breaches_past_the_threshold_alert_the_supervisors_with_the_projection(surging):
    [alert] = surge_watch()

    assert alert.department.code == "operations"
    assert alert.breaches >= 5
    assert alert.arrivals_per_hour == 10.0 and alert.handled_per_hour == 2.0 and alert.backlog == 16
    assert alert.hours_to_breach is not None and alert.hours_to_breach < 2
    numbers = [row["number"] for row in alert.at_risk]
    assert set(numbers) <= {t.number for t in surging[4:]}
    [message] = Notification.objects.filter(event=Event.SURGE_ALERT)
    assert message.audience == Audience.SUPERVISORS
    assert message.recipient == "boss@shop.example"
    assert alert.notified == 1
    # Staff read the desk's language (LANGUAGE_CODE, zh-hans).
    assert "进线 10.0 单/小时，处理 2.0 单/小时，积压 16 单" in message.body
    assert f"{alert.breaches} 单超时" in message.subject
    assert numbers[0] in message.body
    assert f"/admin/tickets/ticket/{alert.at_risk[0]['id']}/change/" in message.body
    assert "/admin/surge/surgealert/watch/" in message.body


def test_below_the_threshold_nobody_is_alerted(surging, surge_settings):
    surge_settings.KEFU_SURGE_ALERT_MIN_BREACHES = 50

    assert surge_watch() == []
    assert not SurgeAlert.objects.exists()
    assert not Notification.objects.filter(event=Event.SURGE_ALERT).exists()


def test_one_alert_per_department_within_the_cooldown(surging, clock, surge_settings):
    assert len(surge_watch()) == 1
    clock.shift(timedelta(minutes=10))

    assert watch_queues_task() == 0  # still breaching, but alerted ten minutes ago
    assert SurgeAlert.objects.count() == 1

    surge_settings.KEFU_SURGE_ALERT_COOLDOWN_MINUTES = 5
    assert watch_queues_task() == 1
    assert SurgeAlert.objects.count() == 2
    assert Notification.objects.filter(event=Event.SURGE_ALERT).count() == 2
    assert SurgeAlert.objects.first().created_at == timezone.now()
