"""Reinforcement (surge.services.reinforcements, routing.Reinforcement): a warehouse member moved into the operations
queue sees and works it, is given its tickets up to the cap, and stops at the end time (or when ended early);
the tickets they still hold go back to the queue, on the timeline; only supervisors move people."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.core.errors import Conflict, ValidationFailed
from routing.config import departments_on_duty
from routing.models import Department, Reinforcement
from routing.services import staff_member_departments
from surge.services.reinforcements import reinforcement_add, reinforcement_end, reinforcements_expire
from surge.tasks import watch_queues_task
from tests.factories.desk import assignment_events, open_complaint, reload, staff, staff_member
from tickets.errors import NotPermitted
from tickets.selectors import staff_tickets
from tickets.services.assignment import ticket_claim

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def boss():
    return staff(staff_member("supervisors", username="boss", on_duty=False))


@pytest.fixture
def picker():
    """A warehouse member on duty; nobody works operations."""
    return staff_member("warehouse", username="wang")


def fresh(reinforcement: Reinforcement) -> Reinforcement:
    return Reinforcement.objects.get(pk=reinforcement.pk)


def operations() -> Department:
    return Department.objects.get(code="operations")


def move(boss, user, *, hours: float = 2, cap: int = 2, **kwargs) -> Reinforcement:
    return reinforcement_add(
        actor=boss,
        user=user,
        department=operations(),
        ends_at=timezone.now() + timedelta(hours=hours),
        cap=cap,
        reason="Live-stream wave of complaints",
        **kwargs,
    )


def test_a_reinforced_member_sees_and_claims_the_queue(clock, boss, picker):
    complaint = open_complaint()  # operations: nobody there, it waits unassigned
    assert complaint.assignee is None
    assert not staff_tickets(actor=staff(picker)).filter(pk=complaint.pk).exists()

    reinforcement = move(boss, picker)

    assert "operations" in staff(picker).departments
    assert "operations" in staff_member_departments(picker)
    assert staff_tickets(actor=staff(picker)).filter(pk=complaint.pk).exists()
    assert ticket_claim(ticket=complaint, actor=staff(picker)).assignee == picker
    assert reinforcement.created_by == boss.user
    assert reinforcement.reason == "Live-stream wave of complaints"


def test_new_tickets_are_assigned_to_the_reinforcement_up_to_its_cap(clock, boss, picker):
    move(boss, picker, cap=2)

    assert "operations" in departments_on_duty.get()  # routing knows somebody works the queue now
    assigned = [open_complaint().assignee for _ in range(3)]

    assert assigned == [picker, picker, None]  # the cap of operations tickets, whatever their own cap (30)


def test_a_reinforcement_not_started_yet_grants_nothing(clock, boss, picker):
    move(boss, picker, starts_at=timezone.now() + HOUR, hours=3)

    assert "operations" not in staff(picker).departments
    assert open_complaint().assignee is None
    clock.shift(HOUR)
    assert "operations" in staff(picker).departments
    assert open_complaint().assignee == picker


def test_after_its_end_the_member_no_longer_sees_nor_gets_the_queue_and_the_expiry_is_recorded(clock, boss, picker):
    reinforcement = move(boss, picker, hours=1, cap=5)
    held = open_complaint()
    assert held.assignee == picker

    clock.shift(HOUR + timedelta(minutes=1))

    # Stopped at its end time, before the watch records anything.
    assert "operations" not in staff(picker).departments
    assert "operations" not in staff_member_departments(picker)
    assert not staff_tickets(actor=staff(picker)).filter(pk=held.pk).exists()
    assert open_complaint().assignee is None
    assert fresh(reinforcement).expired_at is None

    watch_queues_task()  # the beat task records the expiry and gives the queue its tickets back

    reinforcement = fresh(reinforcement)
    assert reinforcement.expired_at == timezone.now()
    assert reload(held).assignee is None
    [back] = assignment_events(held)[-1:]
    assert back.actor_name == "surge"
    assert back.payload == {"assignee": None, "previous": "wang"}
    assert reinforcements_expire() == 0  # recorded once


def test_ending_early_stops_it_at_once_and_is_recorded(clock, boss, picker):
    reinforcement = move(boss, picker, hours=4)
    held = open_complaint()
    clock.shift(timedelta(minutes=30))

    ended = reinforcement_end(actor=boss, reinforcement=reinforcement)

    assert ended.ended_at == timezone.now()
    assert ended.ended_by == boss.user
    assert "operations" not in staff(picker).departments
    assert reload(held).assignee is None
    assert open_complaint().assignee is None
    with pytest.raises(Conflict):
        reinforcement_end(actor=boss, reinforcement=reinforcement)


def test_only_supervisors_move_people_or_end_a_move(clock, boss, picker):
    colleague = staff(staff_member("operations", username="li"))

    with pytest.raises(NotPermitted):
        move(colleague, picker)
    reinforcement = move(boss, picker)
    with pytest.raises(NotPermitted):
        reinforcement_end(actor=colleague, reinforcement=reinforcement)
    assert Reinforcement.objects.count() == 1


def test_what_a_reinforcement_cannot_be(clock, boss, picker):
    member = staff_member("operations", username="already")

    with pytest.raises(ValidationFailed):  # into the supervisors: never a way to grant supervising
        reinforcement_add(
            actor=boss,
            user=picker,
            department=Department.objects.get(code="supervisors"),
            ends_at=timezone.now() + HOUR,
            cap=1,
            reason="x",
        )
    with pytest.raises(ValidationFailed):
        move(boss, member)  # a member already
    with pytest.raises(ValidationFailed):
        move(boss, picker, hours=-1)  # ends in the past
    with pytest.raises(ValidationFailed):
        move(boss, picker, cap=0)
    with pytest.raises(ValidationFailed):
        reinforcement_add(
            actor=boss, user=picker, department=operations(), ends_at=timezone.now() + HOUR, cap=1, reason=" "
        )
    move(boss, picker)
    with pytest.raises(Conflict):
        move(boss, picker)  # one at a time per person and queue
