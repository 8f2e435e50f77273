"""Telling the affected buyers (incidents.messaging), one run at a time, on the test's clock.

The rate is a window of the told buyers kept in the database: a run tells at most the tick's share of
``messages_per_minute`` and never more than what is left of the minute's allowance. The real worker's tests are in
test_telling_worker.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation

from incidents.messaging import incident_tell_batch, incident_tell_sweep, offers_text
from incidents.models import IncidentStatus, IncidentTicket
from incidents.services import incident_start
from notifications.models import Audience, Channel, Event, Notification
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import BuyerFactory
from tests.incidents.affected import running_incident, sms_shop, supervisor

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/incident/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _rate(settings):
    settings.KEFU_PUBLIC_BASE_URL = "http://testserver"
    settings.KEFU_INCIDENT_TELL_WINDOW_SECONDS = 60
    settings.KEFU_INCIDENT_TELL_TICK_SECONDS = 10


def notices(incident) -> list[Notification]:
    return list(Notification.objects.filter(event=Event.INCIDENT_NOTICE, ticket__incident_link__incident=incident))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", ["重要通知", "中转站停运", "预计送达日期", "请点击链接告诉我们您的选择"]),
        ("en", ["Important news", "Your parcel is delayed", "Expected delivery", "Tell us your choice here"]),
    ],
)
def test_each_buyer_gets_the_incident_message_date_offers_and_link_in_their_language(language, words) -> None:
    incident = running_incident(count=2, language=language)
    run = incident_tell_batch(incident_id=incident.pk)
    assert (run.told, run.left) == (2, 0)
    messages = notices(incident)
    assert len(messages) == 2
    for message in messages:
        assert (message.audience, message.channel, message.language) == (Audience.BUYER, Channel.SMS, language)
        text = message.subject + message.body
        for word in words:
            assert word in text, text
        assert f"{incident.expected_delivery_date:%Y-%m-%d}" in message.body
        with translation.override(language):  # the offers with their labels in the buyer's language
            assert offers_text(incident, ["wait", "refund"]) in message.body
        assert "(¥5.00)" in message.body
        page = Client().get(LINK.search(message.body).group(1))
        assert page.status_code == 200
        assert message.ticket.number in page.content.decode()
    assert not IncidentTicket.objects.filter(incident=incident, told_at__isnull=True).exists()


def test_a_run_tells_at_most_the_ticks_share_and_the_minute_never_more_than_the_allowance() -> None:
    incident = running_incident(count=14, messages_per_minute=6)  # ticks of 10 s: one buyer a tick
    start = timezone.now()
    told_per_run = [incident_tell_batch(incident_id=incident.pk, now=start + timedelta(seconds=s)).told for s in (0, 1)]
    assert told_per_run == [1, 1]  # the tick's share each run, however often it runs
    for second in range(2, 60):
        incident_tell_batch(incident_id=incident.pk, now=start + timedelta(seconds=second))
    assert len(notices(incident)) == 6  # the minute's allowance, not a run's share times the runs
    for second in range(60, 200, 10):
        incident_tell_batch(incident_id=incident.pk, now=start + timedelta(seconds=second))
    times = sorted(n.created_at for n in notices(incident))
    assert len(times) == 14
    for i, first in enumerate(times):  # any 60 s holds at most 6
        assert sum(1 for t in times[i:] if t - first < timedelta(seconds=60)) <= 6


def test_telling_twice_tells_nobody_twice() -> None:
    incident = running_incident(count=3)
    incident_tell_batch(incident_id=incident.pk)
    later = timezone.now() + timedelta(minutes=5)
    assert incident_tell_batch(incident_id=incident.pk, now=later).told == 0
    assert len(notices(incident)) == 3


def test_a_draft_tells_nobody_and_a_paused_incident_waits() -> None:
    incident = running_incident(count=2, messages_per_minute=0)
    assert incident_tell_batch(incident_id=incident.pk).told == 0
    assert not notices(incident)
    incident.status = IncidentStatus.DRAFT
    incident.messages_per_minute = 100
    incident.save()
    assert incident_tell_batch(incident_id=incident.pk).told == 0


def test_the_beat_sweep_restarts_an_incident_whose_telling_stopped(django_capture_on_commit_callbacks) -> None:
    running_incident(count=2)
    cache.clear()  # no telling under way
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert incident_tell_sweep() == 1
    assert len(callbacks) == 1  # the task handed over after the commit
    assert incident_tell_sweep() == 0  # marked as under way now


def test_starting_an_incident_opens_the_tickets_and_tells_the_buyers_after_the_commits(
    django_capture_on_commit_callbacks, settings
) -> None:
    """The whole hand-over without a broker (``task_always_eager``, as the demo runs): start → opening task →
    telling task, each after its commit."""
    shop = sms_shop()
    for n in range(3):
        delayed_order(shop=shop, buyer=BuyerFactory(shop=shop, phone=f"1370000000{n}"))
    incident = IncidentFactory(shops=[shop])
    # Through Django's settings, as tests/tickets/services/conftest.py does: setting app.conf directly would pin
    # the value for every later test (Celery reads the setting lazily until something sets it).
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        incident_start(incident, supervisor())
    assert IncidentTicket.objects.filter(incident=incident, told_at__isnull=False).count() == 3
    assert len(notices(incident)) == 3
