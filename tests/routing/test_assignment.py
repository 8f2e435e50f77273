"""Who in the team gets a ticket: fewest open tickets (or round robin) among on-duty members under their cap;
surge overflow to a backup pool. Every assignment is on the ticket's timeline. Claiming and reassigning, the
people's use cases: tests/tickets/services/test_assignment.py.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from routing.models import Department
from routing.services import assignee_batch, staff_set_on_duty
from tests.factories.desk import (
    assignment_events,
    department,
    open_complaint,
    open_return,
    staff,
    staff_member,
)
from tests.factories.tickets import ticket_build
from tickets.models import Ticket
from tickets.selectors import ticket_list
from tickets.services import ticket_act
from tickets.services.assignment import ticket_claim

pytestmark = pytest.mark.django_db


def give(user: AbstractBaseUser, n: int, *, state: str = "investigating") -> None:
    """``n`` logistics tickets already held by ``user``: every open ticket counts towards the load and the
    cap, whatever its team; ended ones do not."""
    pks = [ticket_build("logistics", state).pk for _ in range(n)]
    Ticket.objects.filter(pk__in=pks).update(assignee=user)


def assignees(n: int) -> list[str | None]:
    """Open ``n`` complaints (operations) and say who got each."""
    return [getattr(open_complaint().assignee, "username", None) for _ in range(n)]


def test_a_new_ticket_goes_to_the_on_duty_member_with_the_fewest_open_tickets():
    a = staff_member("operations", username="a")
    staff_member("operations", username="b")
    c = staff_member("operations", username="c")
    give(a, 2)
    give(c, 1)

    assert assignees(4) == ["b", "b", "c", "a"]  # b 0 → 1 → 2 (ties go to the older member), c 1 → 2, then a


def test_ended_tickets_do_not_count_towards_the_load():
    a = staff_member("operations", username="a")
    b = staff_member("operations", username="b")
    give(a, 5, state="cancelled")
    give(b, 1)

    assert assignees(1) == ["a"]


def test_nobody_gets_more_than_their_cap():
    staff_member("operations", username="a", cap=1)
    b = staff_member("operations", username="b", cap=4)
    give(b, 2)

    # a is emptiest but full after one; b takes the rest up to 4; then nobody can.
    assert assignees(4) == ["a", "b", "b", None]


def test_off_duty_and_deactivated_members_are_skipped():
    a = staff_member("operations", username="a")
    staff_member("operations", username="gone", active=False)
    b = staff_member("operations", username="b")
    give(b, 3)
    staff_set_on_duty(user=a, on_duty=False)

    assert assignees(1) == ["b"]
    staff_set_on_duty(user=a, on_duty=True)
    assert assignees(1) == ["a"]


def test_with_nobody_on_duty_the_ticket_waits_visibly_unassigned_in_its_teams_queue():
    staff_member("operations", on_duty=False)
    staff_member("warehouse")  # on duty, but another team

    ticket = open_return()

    assert (ticket.department, ticket.assignee) == ("operations", None)
    queue = ticket_list().filter(department="operations", assignee__isnull=True)
    assert list(queue.values_list("pk", flat=True)) == [ticket.pk]
    assert assignment_events(ticket) == []


def test_round_robin_rotates_whatever_the_load_and_skips_who_cannot_take_one():
    department("operations", strategy="round_robin")
    a = staff_member("operations", username="a")
    b = staff_member("operations", username="b")
    staff_member("operations", username="c", cap=1)
    give(a, 5)

    assert assignees(5) == ["a", "b", "c", "a", "b"]  # c is full after one
    staff_set_on_duty(user=b, on_duty=False)
    assert assignees(2) == ["a", "a"]


def test_the_assignee_stays_while_their_team_works_on_and_changes_at_a_hand_off():
    agent = staff_member("operations", username="agent")
    staff_member("operations", username="colleague")
    complaint = open_complaint()
    assert complaint.assignee == agent

    complaint = ticket_act(ticket=complaint, actor=staff(agent), action="acknowledge")
    assert complaint.assignee == agent  # the colleague is emptier now, but the agent keeps their ticket

    packer = staff_member("warehouse", username="packer")
    received = ticket_build("return", "received", goods_received=True)
    refund = ticket_act(ticket=received, actor=staff(packer), action="pass_inspection")
    assert (refund.department, refund.assignee.username) == ("operations", "colleague")


def test_every_automatic_assignment_is_on_the_timeline():
    staff_member("warehouse", username="packer")
    staff_member("operations", username="agent")
    received = ticket_build("return", "received", goods_received=True)
    assert received.assignee.username == "packer"

    ticket_act(ticket=received, actor=staff(received.assignee), action="pass_inspection")

    last = assignment_events(received)[-1]
    assert (last.actor_kind, last.actor_name) == ("system", "routing")
    assert last.payload == {"assignee": "agent", "previous": "packer", "department": "operations"}
    opened = open_complaint()
    assert [e.payload["assignee"] for e in assignment_events(opened)] == ["agent"]


# -- overflow ----------------------------------------------------------------------------------------------


@pytest.fixture
def surge() -> Department:
    """Operations overflows into a surge pool (Double 11) once 2 tickets wait unassigned."""
    pool = department("ops-surge", name="双十一 Surge pool")
    department("operations", overflow_threshold=2, backup=pool)
    staff_member("ops-surge", username="temp")
    return pool


def test_new_tickets_overflow_to_the_backup_pool_when_the_unassigned_backlog_reaches_the_threshold(surge):
    first, second = open_return(), open_return()
    assert [(t.department, t.assignee) for t in (first, second)] == [("operations", None)] * 2

    third = open_return()

    assert (third.department, third.assignee.username) == ("ops-surge", "temp")
    assert assignment_events(third)[0].payload["department"] == "ops-surge"


def test_claimed_tickets_leave_the_backlog_and_the_surge_ends_with_it(surge):
    agent = staff_member("operations", username="agent", on_duty=False)
    first, _second = open_return(), open_return()
    assert open_return().department == "ops-surge"

    ticket_claim(ticket=first, actor=staff(agent))

    assert open_return().department == "operations"  # one waits again, then two
    assert open_return().department == "ops-surge"


def test_a_ticket_already_with_the_team_does_not_overflow_at_its_next_step(surge):
    agent = staff_member("operations", username="agent", cap=1)
    complaint = open_complaint()
    assert complaint.assignee == agent
    open_complaint(), open_complaint()  # the agent is full: these wait, the backlog reaches the threshold

    complaint = ticket_act(ticket=complaint, actor=staff(agent), action="acknowledge")

    assert (complaint.department, complaint.assignee) == ("operations", agent)


def batch_assignees(n: int) -> list[str | None]:
    """Open ``n`` complaints in one transaction inside ``assignee_batch`` (an incident's chunk)."""
    with transaction.atomic(), assignee_batch():
        return assignees(n)


def test_a_batch_assigns_as_one_pick_per_ticket_would_fewest_open_and_caps():
    a = staff_member("operations", username="a", cap=3)
    staff_member("operations", username="b")
    c = staff_member("operations", username="c")
    give(a, 2)
    give(c, 1)

    # As test_a_new_ticket_goes_to_the_on_duty_member_with_the_fewest_open_tickets, and a's cap of 3 holds.
    assert batch_assignees(6) == ["b", "b", "c", "a", "b", "c"]
    assert assignees(1) == ["b"]  # after the batch, the load counts its tickets (b 4, c 3, a 3 at its cap)


def test_a_batch_rotates_round_robin_and_writes_the_rotation_once_at_the_end():
    operations = department("operations", strategy="round_robin")
    staff_member("operations", username="a")
    staff_member("operations", username="b")
    staff_member("operations", username="c", cap=1)

    assert batch_assignees(4) == ["a", "b", "c", "a"]
    operations.refresh_from_db()
    assert operations.last_assigned.username == "a"
    assert assignees(1) == ["b"]  # the next ticket, outside the batch, goes on from there


def test_a_batch_reads_the_departments_load_once_not_once_per_ticket():
    for name in ("a", "b", "c"):
        staff_member("operations", username=name)
    batch_assignees(1)  # the configuration snapshots loaded
    with CaptureQueriesContext(connection) as one:
        batch_assignees(1)
    with CaptureQueriesContext(connection) as ten:
        batch_assignees(10)

    def loads(queries: list[dict]) -> int:  # the members' rows read (locked on PostgreSQL) with their load
        return sum('FROM "routing_staffmember"' in q["sql"] for q in queries)

    assert loads(ten.captured_queries) == loads(one.captured_queries) == 1
