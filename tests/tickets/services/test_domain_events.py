"""The ticket core publishes every timeline entry as the domain event ``ticket_event_recorded`` (tickets.signals).

Subscribers run inside the change's transaction: they see each entry with the ticket after the change, what
they write commits with the change, and one that fails rolls the whole change back (nothing half-written).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from notifications.models import Notification
from tests.factories.orders import ShopFactory
from tests.factories.tickets import order_with_line, staff_actor
from tickets.actors import Actor
from tickets.models import Ticket, TicketEvent
from tickets.services import return_open, ticket_act
from tickets.signals import ticket_event_recorded
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def heard() -> Iterator[list[tuple[str, str, str]]]:
    """What a subscriber hears: (event type, the ticket's state then, whether the entry is saved)."""
    found: list[tuple[str, str, str]] = []

    def listen(sender: type, *, event: TicketEvent, ticket: Ticket, **kwargs: Any) -> None:
        found.append((event.event_type, ticket.state, "saved" if event.pk else "unsaved"))

    ticket_event_recorded.connect(listen, sender=TicketEvent, dispatch_uid="test-listen")
    try:
        yield found
    finally:
        ticket_event_recorded.disconnect(dispatch_uid="test-listen", sender=TicketEvent)


def open_return_on(order) -> Ticket:
    return return_open(
        order=order, actor=Actor.for_buyer(order.buyer), lines=[LineRequest("SKU-A", 1)], reason_code="quality_problem"
    )


def test_every_timeline_entry_is_published_with_the_ticket_after_the_change(heard) -> None:
    ticket = open_return_on(order_with_line())
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
    written = list(TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("pk").values_list("event_type", flat=True))
    assert [type_ for type_, _, _ in heard] == written
    assert ("created", "requested", "saved") in heard
    assert ("transition", "awaiting_return", "saved") in heard


def test_a_subscriber_that_fails_rolls_the_change_back_with_its_outbox_rows() -> None:
    def fail(sender: type, **kwargs: Any) -> None:
        raise Boom

    order = order_with_line(shop=ShopFactory(webhook_url="https://shop.example.com/hook", webhook_secret="s"))
    ticket = open_return_on(order)
    ticket_event_recorded.connect(fail, sender=TicketEvent, dispatch_uid="test-fail")
    try:
        with pytest.raises(Boom):
            ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
        with pytest.raises(Boom):
            open_return_on(order_with_line(shop=order.shop))
    finally:
        ticket_event_recorded.disconnect(dispatch_uid="test-fail", sender=TicketEvent)

    assert Ticket.objects.get().state == "requested"  # the approval and the second opening left nothing
    assert list(TicketEvent.objects.values_list("event_type", flat=True)) == ["created"]
    assert Notification.objects.count() == 1  # the first opening's; none of the failed changes'
