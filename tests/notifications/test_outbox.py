"""The outbox guarantee: notifications are written in the ticket change's own transaction.

A committed change is delivered (here at once: Celery runs eagerly on commit, to a real HTTP server); a
rolled-back one leaves no outbox row and sends nothing, also not later through the relay. Real commits
(``transaction=True``); runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction

from kefu import celery_app
from notifications.models import Event, Notification
from notifications.relay import relay_pending
from tests.factories.tickets import buyer_actor, staff_actor
from tests.notifications.conftest import open_return, webhook_shop
from tests.notifications.support import kefu_app_on
from tickets.errors import NotPermitted
from tickets.models import EventType, Ticket, TicketEvent
from tickets.services import ticket_act
from tickets.services.engine import ticket_transition

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def delivered_on_commit() -> Iterator[None]:
    """Celery in eager mode: ``deliver_notifications_task`` runs right after the commit, in this thread."""
    with kefu_app_on("memory://"):
        celery_app.conf.task_always_eager = True  # restored by kefu_app_on
        yield


def test_a_change_is_delivered_after_its_commit_and_a_rolled_back_one_never(storefront) -> None:
    shop = webhook_shop(storefront.url)
    with transaction.atomic():
        ticket = open_return(shop)
        assert Notification.objects.filter(ticket=ticket).count() == 1  # written with the change
        assert storefront.hits == []  # not sent before the commit
    assert storefront.deliveries() == [Notification.objects.get(ticket=ticket).dedup_key]

    with pytest.raises(Boom), transaction.atomic():
        open_return(shop)
        raise Boom  # e.g. a later step of the same request fails

    assert Ticket.objects.count() == 1
    assert Notification.objects.count() == 1
    assert relay_pending().sent == 0
    assert len(storefront.hits) == 1


def test_a_transition_that_fails_writes_no_notification(storefront) -> None:
    ticket = open_return(webhook_shop(storefront.url))
    assert len(storefront.hits) == 1

    def explode(_: Ticket) -> None:
        raise Boom  # after the transition, its timeline entry and outbox rows were written

    with pytest.raises(Boom):
        ticket_transition(ticket=ticket, actor=staff_actor("operations"), transition="approve", after=explode)
    with pytest.raises(NotPermitted):
        ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="approve")

    assert Ticket.objects.get(pk=ticket.pk).state == "requested"
    assert not TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION).exists()
    assert list(Notification.objects.values_list("event", flat=True)) == [Event.TICKET_CREATED]
    assert relay_pending().sent == 0
    assert len(storefront.hits) == 1
