"""Claiming from the queue and supervisors reassigning (tickets.services.assignment): who may, what is refused,
and that every assignment is on the ticket's timeline. Automatic assignment: tests/routing/test_assignment.py.
"""

from __future__ import annotations

import pytest

from kefu.core.errors import Conflict, ValidationFailed
from tests.factories.desk import assignment_events, open_return, reload, staff, staff_member
from tests.factories.tickets import ticket_build
from tickets.errors import NotPermitted
from tickets.models import Ticket
from tickets.services.assignment import ticket_claim, ticket_reassign

pytestmark = pytest.mark.django_db


# -- claim -----------------------------------------------------------------------------------------------


def test_staff_claim_an_unassigned_ticket_of_their_own_teams_queue():
    agent = staff_member("operations", on_duty=False, username="agent")
    ticket = open_return()
    assert ticket.assignee is None

    claimed = ticket_claim(ticket=ticket, actor=staff(agent))

    assert reload(claimed).assignee == agent
    (event,) = assignment_events(ticket)
    assert (event.actor_kind, event.actor_name, event.payload["assignee"]) == ("staff", "agent", "agent")


def test_staff_cannot_claim_from_another_teams_queue():
    packer = staff_member("warehouse")
    ticket = open_return()

    with pytest.raises(NotPermitted):
        ticket_claim(ticket=ticket, actor=staff(packer))
    assert reload(ticket).assignee is None


def test_a_closed_ticket_cannot_be_claimed():
    agent = staff_member("operations", on_duty=False, username="agent")
    ticket = ticket_build("return", "cancelled")
    Ticket.objects.filter(pk=ticket.pk).update(department="operations")  # as if left in the queue

    with pytest.raises(Conflict) as refused:
        ticket_claim(ticket=reload(ticket), actor=staff(agent))
    assert refused.value.code == "ticket_closed"


def test_a_ticket_someone_else_claimed_first_is_refused_as_already_claimed():
    first = staff_member("operations", on_duty=False, username="first")
    second = staff_member("operations", on_duty=False, username="second")
    ticket = open_return()
    seen_by_second = reload(ticket)  # both opened the queue before either clicked

    ticket_claim(ticket=ticket, actor=staff(first))
    with pytest.raises(Conflict) as refused:
        ticket_claim(ticket=seen_by_second, actor=staff(second))

    assert refused.value.code == "already_claimed"
    assert reload(ticket).assignee == first
    assert len(assignment_events(ticket)) == 1


# -- reassign --------------------------------------------------------------------------------------------


def test_a_supervisor_reassigns_within_the_team_and_it_is_on_the_timeline():
    a = staff_member("operations", username="a")
    b = staff_member("operations", username="b")
    boss = staff_member("supervisors", username="boss")
    ticket = open_return()
    assert ticket.assignee == a

    ticket = ticket_reassign(ticket=ticket, actor=staff(boss), assignee=b)
    assert reload(ticket).assignee == b
    event = assignment_events(ticket)[-1]
    assert (event.actor_name, event.payload["previous"], event.payload["assignee"]) == ("boss", "a", "b")

    ticket = ticket_reassign(ticket=ticket, actor=staff(boss), assignee=None)  # back to the queue
    assert (reload(ticket).assignee, reload(ticket).department) == (None, "operations")


def test_reassigning_to_someone_outside_the_team_is_refused_as_not_a_member():
    staff_member("operations")
    packer = staff_member("warehouse")
    boss = staff_member("supervisors")
    ticket = open_return()
    before = reload(ticket).assignee

    with pytest.raises(ValidationFailed) as refused:
        ticket_reassign(ticket=ticket, actor=staff(boss), assignee=packer)

    assert (refused.value.code, refused.value.field) == ("not_a_member", "assignee")
    assert reload(ticket).assignee == before


def test_only_supervisors_reassign():
    a = staff_member("operations")
    b = staff_member("operations")
    ticket = open_return()

    with pytest.raises(NotPermitted):
        ticket_reassign(ticket=ticket, actor=staff(a), assignee=b)
    assert reload(ticket).assignee == a
