"""A ticket's id (and so its number) on PostgreSQL comes from the statement that locked its order's lines
(tickets.locks.order_lines_locked takes it from the sequence): each opening gets its own, an order line copy used
again does not give its id twice, an opening that was refused after the lock leaves nothing behind, and an
opening without lines asks the sequence itself."""

from __future__ import annotations

import pytest

from tests.factories.tickets import order_with_line
from tests.markers import requires_postgres
from tickets.actors import Actor
from tickets.errors import QuantityNotReturnable
from tickets.locks import order_lines_locked
from tickets.models import Ticket
from tickets.services.opening import _reserve_ticket_id, complaint_open, return_open
from tickets.types import LineRequest

pytestmark = [requires_postgres, pytest.mark.django_db]


def open_return(order, quantity=1):
    return return_open(
        order=order,
        actor=Actor.for_buyer(order.buyer),
        lines=[LineRequest("SKU-A", quantity)],
        reason_code="quality_problem",
    )


def test_each_opening_on_one_order_gets_its_own_id_and_number():
    order = order_with_line(quantity=3)
    tickets = [open_return(order) for _ in range(3)]
    assert len({t.pk for t in tickets}) == 3
    assert [t.number[-6:] for t in tickets] == [f"{t.pk:06d}" for t in tickets]
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets]).count() == 3


def test_the_lock_takes_one_id_which_a_line_gives_only_once():
    order = order_with_line(quantity=2)
    lines = order_lines_locked(order)
    line = lines["SKU-A"]
    first = _reserve_ticket_id([(line, 1)])
    second = _reserve_ticket_id([(line, 1)])  # the same copy again: the sequence is asked
    assert first is not None and second is not None and second > first


def test_a_refusal_after_the_lock_leaves_the_next_opening_whole():
    order = order_with_line(quantity=1)
    with pytest.raises(QuantityNotReturnable):
        open_return(order, quantity=2)
    ticket = open_return(order)
    assert Ticket.objects.get(pk=ticket.pk).number == ticket.number


def test_an_opening_without_lines_asks_the_sequence():
    order = order_with_line()
    before = open_return(order)
    complaint = complaint_open(
        order=order, actor=Actor.for_buyer(order.buyer), category="service_attitude", description="rude on the phone"
    )
    after = open_return(order)
    assert before.pk < complaint.pk < after.pk
