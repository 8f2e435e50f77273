"""Closing an incident (incidents.closing): what is left open is closed through each ticket's declared
transitions, at the telling's rate, with the closing message to each buyer and a line on each timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.answers import incident_answer
from incidents.closing import incident_close
from incidents.errors import IncidentClosed, IncidentNotRunning
from incidents.messaging import incident_tell_batch
from incidents.models import IncidentStatus, IncidentTicket
from kefu.core.vocabulary import LogisticsState
from notifications.models import Event, Notification
from tests.factories.incidents import IncidentFactory
from tests.factories.tickets import staff_actor
from tests.incidents.affected import running_incident, supervisor
from tickets.actors import Actor
from tickets.errors import NotPermitted
from tickets.models import TicketEvent
from tickets.selectors import ticket_get
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db

CLOSING = {"zh-hans": "中转站已恢复运转，感谢您的耐心等待。", "en": "The hub is running again. Thank you."}


@pytest.fixture(autouse=True)
def _rate(settings):
    settings.KEFU_INCIDENT_TELL_WINDOW_SECONDS = 60
    settings.KEFU_INCIDENT_TELL_TICK_SECONDS = 60


def test_closing_resolves_what_is_left_leaves_money_under_way_and_tells_every_buyer() -> None:
    incident = running_incident(count=3, messages_per_minute=2)
    untouched, refunding, investigating = IncidentTicket.objects.filter(incident=incident).order_by("pk")
    incident_tell_batch(incident_id=incident.pk)
    incident_tell_batch(incident_id=incident.pk, now=timezone.now() + timedelta(minutes=1))
    incident_answer(affected_id=refunding.pk, choice="refund")
    closer = supervisor()
    # A logistics agent investigated the third meanwhile.
    ticket_act(ticket=ticket_get(pk=investigating.ticket_id), actor=staff_actor("logistics"), action="investigate")

    closed = incident_close(incident=incident, actor=Actor.staff(closer), closing_message=CLOSING)
    assert (closed.status, closed.closed_by_id) == (IncidentStatus.CLOSED, closer.pk)

    later = timezone.now() + timedelta(minutes=2)
    first = incident_tell_batch(incident_id=incident.pk, now=later)
    assert (first.told, first.left) == (2, 1)  # the rate holds for the closing too
    assert incident_tell_batch(incident_id=incident.pk, now=later + timedelta(seconds=30)).told == 0
    incident_tell_batch(incident_id=incident.pk, now=later + timedelta(minutes=1))

    assert ticket_get(pk=untouched.ticket_id).state == LogisticsState.RESOLVED
    assert ticket_get(pk=investigating.ticket_id).state == LogisticsState.RESOLVED
    assert ticket_get(pk=refunding.ticket_id).state == LogisticsState.REFUNDING  # the refund finishes by itself
    transitions = list(
        TicketEvent.objects.filter(ticket_id=untouched.ticket_id, event_type="transition")
        .order_by("pk")
        .values_list("transition", "actor_name")
    )
    assert transitions == [(name, closer.get_username()) for name in ("investigate", "mark_found", "resolve")]
    # The buyer hears the closing message, which names the final state, not each of the three steps.
    closed_at = TicketEvent.objects.filter(ticket_id=untouched.ticket_id, transition="investigate").get().created_at
    heard = Notification.objects.filter(ticket_id=untouched.ticket_id, audience="buyer", created_at__gte=closed_at)
    assert list(heard.values_list("event", flat=True).distinct()) == [Event.INCIDENT_CLOSED]
    for affected in (untouched, refunding, investigating):
        reasons = [str(e.reason) for e in TicketEvent.objects.filter(ticket_id=affected.ticket_id)]
        assert any("已结束" in reason for reason in reasons), reasons  # on each timeline
        message = Notification.objects.get(ticket_id=affected.ticket_id, event=Event.INCIDENT_CLOSED)
        assert CLOSING["zh-hans"] in message.body
    assert not IncidentTicket.objects.filter(incident=incident, closing_told_at__isnull=True).exists()
    assert incident_tell_batch(incident_id=incident.pk, now=later + timedelta(minutes=5)).told == 0  # once


def test_only_a_supervisor_closes_a_running_incident_once() -> None:
    incident = running_incident(count=1)
    with pytest.raises(NotPermitted):
        incident_close(incident=incident, actor=staff_actor("logistics"), closing_message="结束")
    boss = Actor.staff(supervisor())
    incident_close(incident=incident, actor=boss, closing_message="结束")
    with pytest.raises(IncidentClosed):
        incident_close(incident=incident, actor=boss, closing_message="再结束")
    with pytest.raises(IncidentNotRunning):
        incident_close(incident=IncidentFactory(), actor=boss, closing_message="结束")
